#!/bin/sh
set -e
aws s3 sync dist s3://releases.example.com/latest

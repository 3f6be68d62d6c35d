terraform {
  backend "s3" {
    bucket         = "acme-tf-state"
    key            = "app/terraform.tfstate"
    region         = "eu-west-1"
    dynamodb_table = "acme-tf-locks"
  }
}

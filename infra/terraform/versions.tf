terraform {
  required_version = ">= 1.5.0"

  required_providers {
    aws = {
      source  = "hashicorp/aws"
      version = "~> 5.70"
    }
  }

  # Partial configuration: bucket, key, region and locking come from
  # environments/<env>.s3.tfbackend (`terraform init -backend-config=...`), so every
  # environment has its own state object and the same code can never mix them.
  backend "s3" {}
}

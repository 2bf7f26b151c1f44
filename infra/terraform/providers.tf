provider "aws" {
  region = var.region

  # Refuses to run against any other account: applying production.tfvars with dev
  # credentials (or the reverse) fails before anything is read or changed.
  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = local.tags
  }
}

# CloudFront-scoped resources (the WAF web ACL; an ACM certificate would live here too)
# exist only in us-east-1, whatever region the bucket is in.
provider "aws" {
  alias  = "us_east_1"
  region = "us-east-1"

  allowed_account_ids = length(var.allowed_account_ids) > 0 ? var.allowed_account_ids : null

  default_tags {
    tags = local.tags
  }
}

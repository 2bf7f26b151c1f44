# The module's own refusals, planned offline (no credentials, no network). Run from this module's
# directory, since expect_failures only reaches objects of the module under test:
#   terraform init -backend=false -plugin-dir=/opt/tf-plugins   (or with registry access)
#   terraform test
provider "aws" {
  region                      = "eu-west-1"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

provider "aws" {
  alias                       = "us_east_1"
  region                      = "us-east-1"
  access_key                  = "offline-test"
  secret_key                  = "offline-test"
  skip_credentials_validation = true
  skip_requesting_account_id  = true
  skip_metadata_api_check     = true
  skip_region_validation      = true
}

override_data {
  target = data.aws_caller_identity.current
  values = { account_id = "123456789012" }
}

run "module_refuses_custom_domain_without_certificate" {
  command = plan

  variables {
    name                     = "tilepress"
    environment              = "production"
    tilesets                 = ["default"]
    github_repository        = "example-org/tilepress"
    github_environment       = "production"
    github_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    cdn_aliases              = ["tiles.example.org"]
    acm_certificate_arn      = null
  }

  expect_failures = [aws_cloudfront_distribution.cdn]
}

run "module_refuses_a_long_pointer_ttl" {
  command = plan

  variables {
    name                     = "tilepress"
    environment              = "production"
    tilesets                 = ["default"]
    github_repository        = "example-org/tilepress"
    github_environment       = "production"
    github_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
    pointer_max_ttl_seconds  = 3600
  }

  expect_failures = [var.pointer_max_ttl_seconds]
}

run "module_refuses_a_tileset_name_that_could_reach_other_sets" {
  command = plan

  variables {
    name                     = "tilepress"
    environment              = "production"
    tilesets                 = ["monaco.*"]
    github_repository        = "example-org/tilepress"
    github_environment       = "production"
    github_oidc_provider_arn = "arn:aws:iam::123456789012:oidc-provider/token.actions.githubusercontent.com"
  }

  expect_failures = [var.tilesets]
}

# dev: a playground store. Replace the account id and repository with yours.
environment         = "dev"
region              = "eu-west-1"
allowed_account_ids = ["111111111111"]

tilesets     = ["default", "monaco"]
store_prefix = "tiles"

# Short undo window and log retention: nothing here must be kept.
noncurrent_version_expiration_days = 7
log_retention_days                 = 30

# WAF costs a fixed monthly fee per web ACL and rule; dev is not worth protecting from scrapers.
waf_enabled = false

github_repository = "example-org/tilepress"
# One GitHub OIDC provider per account: this account has none yet (one account per environment).
create_github_oidc_provider = true

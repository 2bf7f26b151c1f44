# Inputs of one environment's tileset store. The root module passes them through from
# environments/<env>.tfvars; the descriptions and checks live here, next to their use.

variable "name" {
  description = "Project name, the first part of every resource name."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{1,20}$", var.name))
    error_message = "name must be 2-21 lower-case letters, digits or '-', starting with a letter."
  }
}

variable "environment" {
  description = "Environment this store belongs to: dev, staging or production."
  type        = string

  validation {
    condition     = contains(["dev", "staging", "production"], var.environment)
    error_message = "environment must be one of dev, staging, production."
  }
}

variable "bucket_name" {
  description = "Name of the store bucket. null: <name>-<environment>-store-<account id>."
  type        = string
  default     = null

  validation {
    condition     = var.bucket_name == null || can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.bucket_name))
    error_message = "bucket_name must be a valid S3 bucket name (3-63 characters: a-z, 0-9, '.', '-')."
  }
}

variable "store_prefix" {
  description = "Key prefix of the store inside the bucket: the PREFIX of `s3://BUCKET/PREFIX`. No leading or trailing '/'."
  type        = string
  default     = "tiles"

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*$", var.store_prefix))
    error_message = "store_prefix must be one or more '/'-separated parts of letters, digits, '-' and '_' (no leading or trailing '/', no '.')."
  }
}

variable "tilesets" {
  description = "Tileset names (the `name` of tilesets/*.toml) this environment publishes. Each NAME grants its sets NAME and NAME.REGION, i.e. the keys PREFIX/NAME/* and PREFIX/NAME.*/*."
  type        = list(string)

  validation {
    condition     = length(var.tilesets) > 0 && alltrue([for t in var.tilesets : can(regex("^[A-Za-z0-9_-]+$", t))])
    error_message = "tilesets must be a non-empty list of tileset names (letters, digits, '-' and '_'; no '.', '/' or '*')."
  }
}

variable "noncurrent_version_expiration_days" {
  description = "Days a replaced or deleted object version is kept (the undo window for an overwrite or a gc run) before the lifecycle rule removes it."
  type        = number
  default     = 30

  validation {
    condition     = var.noncurrent_version_expiration_days >= 1 && var.noncurrent_version_expiration_days <= 3650 && floor(var.noncurrent_version_expiration_days) == var.noncurrent_version_expiration_days
    error_message = "noncurrent_version_expiration_days must be a whole number of days between 1 and 3650."
  }
}

variable "abort_incomplete_multipart_days" {
  description = "Days after which an unfinished multipart upload (an archive upload that crashed) is aborted and its parts freed."
  type        = number
  default     = 2

  validation {
    condition     = var.abort_incomplete_multipart_days >= 1 && var.abort_incomplete_multipart_days <= 30 && floor(var.abort_incomplete_multipart_days) == var.abort_incomplete_multipart_days
    error_message = "abort_incomplete_multipart_days must be a whole number of days between 1 and 30."
  }
}

variable "log_retention_days" {
  description = "Days S3 server access logs and CloudFront access logs are kept in the log bucket."
  type        = number
  default     = 365

  validation {
    condition     = var.log_retention_days >= 1 && var.log_retention_days <= 3650 && floor(var.log_retention_days) == var.log_retention_days
    error_message = "log_retention_days must be a whole number of days between 1 and 3650."
  }
}

variable "kms_deletion_window_days" {
  description = "Waiting period before a scheduled deletion of the store's KMS key takes effect."
  type        = number
  default     = 30

  validation {
    condition     = var.kms_deletion_window_days >= 7 && var.kms_deletion_window_days <= 30
    error_message = "kms_deletion_window_days must be between 7 and 30."
  }
}

variable "kms_key_admin_arns" {
  description = "IAM principals (roles/users) that administer the store's KMS key through the key policy, besides the account itself (which delegates to IAM policies)."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.kms_key_admin_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:(role|user)/.+$", a))])
    error_message = "kms_key_admin_arns must be IAM role or user ARNs."
  }
}

variable "cdn_price_class" {
  description = "CloudFront price class: PriceClass_100 (NA+EU), PriceClass_200 or PriceClass_All."
  type        = string
  default     = "PriceClass_100"

  validation {
    condition     = contains(["PriceClass_100", "PriceClass_200", "PriceClass_All"], var.cdn_price_class)
    error_message = "cdn_price_class must be PriceClass_100, PriceClass_200 or PriceClass_All."
  }
}

variable "cdn_additional_metrics" {
  description = "Turn on CloudFront's additional CloudWatch metrics for the distribution (error rates by status code, cache hit rate, origin latency), billed as custom metrics. The alerts of infra/monitoring need only the default ones; these tell their causes apart."
  type        = bool
  default     = true
}

variable "cdn_aliases" {
  description = "Custom domain names of the CDN (e.g. tiles.example.org). Needs acm_certificate_arn."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for d in var.cdn_aliases : can(regex("^([a-z0-9*]([a-z0-9-]*[a-z0-9])?\\.)+[a-z]{2,}$", d))])
    error_message = "cdn_aliases must be lower-case DNS names."
  }
}

variable "acm_certificate_arn" {
  description = "ARN of an ACM certificate in us-east-1 covering cdn_aliases. null: the *.cloudfront.net certificate."
  type        = string
  default     = null

  validation {
    condition     = var.acm_certificate_arn == null || can(regex("^arn:aws[a-z-]*:acm:us-east-1:[0-9]{12}:certificate/.+$", var.acm_certificate_arn))
    error_message = "acm_certificate_arn must be an ACM certificate ARN in us-east-1 (CloudFront only uses certificates from there)."
  }
}

variable "cors_allowed_origins" {
  description = "Origins allowed to fetch tiles from a browser (Access-Control-Allow-Origin), e.g. [\"https://maps.example.org\"]; [\"*\"] for any web map."
  type        = list(string)
  default     = ["*"]

  validation {
    condition     = length(var.cors_allowed_origins) > 0 && alltrue([for o in var.cors_allowed_origins : o == "*" || can(regex("^https?://[^/*]+$", o))])
    error_message = "cors_allowed_origins must be [\"*\"] or a list of origins like https://maps.example.org (scheme and host, no path)."
  }
}

variable "pointer_default_ttl_seconds" {
  description = "CDN TTL of current.json when the object carries no Cache-Control (tilepress sets max-age=30, which wins within [0, pointer_max_ttl_seconds])."
  type        = number
  default     = 30

  validation {
    condition     = var.pointer_default_ttl_seconds >= 0 && var.pointer_default_ttl_seconds <= 300
    error_message = "pointer_default_ttl_seconds must be between 0 and 300."
  }
}

variable "pointer_max_ttl_seconds" {
  description = "Upper bound of the CDN TTL of current.json: how long after a publish or rollback the CDN may still hand out the previous pointer."
  type        = number
  default     = 60

  validation {
    condition     = var.pointer_max_ttl_seconds >= 1 && var.pointer_max_ttl_seconds <= 300
    error_message = "pointer_max_ttl_seconds must be between 1 and 300: the pointer is the only mutable object and must not be cached for long."
  }
}

variable "immutable_min_ttl_seconds" {
  description = "Minimum CDN TTL of the content-addressed objects (tiles, archives, versions, history), which tilepress writes with max-age=31536000, immutable."
  type        = number
  default     = 86400

  validation {
    condition     = var.immutable_min_ttl_seconds >= 0 && var.immutable_min_ttl_seconds <= 31536000
    error_message = "immutable_min_ttl_seconds must be between 0 and 31536000."
  }
}

variable "error_caching_ttl_seconds" {
  description = "How long the CDN caches a 403/404 from the bucket (a key that is not there yet, e.g. current.json before the first publish)."
  type        = number
  default     = 10

  validation {
    condition     = var.error_caching_ttl_seconds >= 0 && var.error_caching_ttl_seconds <= 300
    error_message = "error_caching_ttl_seconds must be between 0 and 300."
  }
}

variable "geo_restriction_type" {
  description = "CloudFront geo restriction: none, whitelist or blacklist (of geo_restriction_locations)."
  type        = string
  default     = "none"

  validation {
    condition     = contains(["none", "whitelist", "blacklist"], var.geo_restriction_type)
    error_message = "geo_restriction_type must be none, whitelist or blacklist."
  }
}

variable "geo_restriction_locations" {
  description = "ISO 3166-1 alpha-2 country codes for geo_restriction_type whitelist/blacklist."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for c in var.geo_restriction_locations : can(regex("^[A-Z]{2}$", c))])
    error_message = "geo_restriction_locations must be upper-case ISO 3166-1 alpha-2 codes."
  }
}

variable "waf_enabled" {
  description = "Put an AWS WAF web ACL (IP reputation, known bad inputs, per-IP rate limit) in front of the CDN."
  type        = bool
  default     = true
}

variable "waf_rate_limit_per_5min" {
  description = "Requests per client IP in any 5-minute window above which WAF blocks that IP. A map view pulls tens of tiles, panning hundreds: keep this generous."
  type        = number
  default     = 20000

  validation {
    condition     = var.waf_rate_limit_per_5min >= 100 && var.waf_rate_limit_per_5min <= 2000000000
    error_message = "waf_rate_limit_per_5min must be between 100 and 2000000000."
  }
}

variable "enforce_conditional_pointer_writes" {
  description = "Bucket policy: refuse any PUT of a current.json or history/ record that carries neither If-Match nor If-None-Match, so nothing (a script, `aws s3 cp`) can overwrite the pointer outside the compare-and-swap protocol."
  type        = bool
  default     = true
}

variable "github_repository" {
  description = "GitHub repository (ORG/REPO) whose Actions workflows may assume the roles through OIDC."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+$", var.github_repository))
    error_message = "github_repository must be ORG/REPO."
  }
}

variable "github_environment" {
  description = "GitHub environment whose jobs may assume the roles (the OIDC `sub` is repo:ORG/REPO:environment:<this>)."
  type        = string

  validation {
    condition     = can(regex("^[A-Za-z0-9._-]+$", var.github_environment))
    error_message = "github_environment must be a GitHub environment name (letters, digits, '.', '_', '-')."
  }
}

variable "github_oidc_provider_arn" {
  description = "ARN of the IAM OIDC provider for token.actions.githubusercontent.com in this account."
  type        = string

  validation {
    condition     = can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/token\\.actions\\.githubusercontent\\.com$", var.github_oidc_provider_arn))
    error_message = "github_oidc_provider_arn must be the ARN of the token.actions.githubusercontent.com OIDC provider."
  }
}

variable "eks_oidc_provider_arn" {
  description = "ARN of an EKS cluster's IAM OIDC provider, to let the Kubernetes CronJob assume the roles (IRSA). null: no Kubernetes trust."
  type        = string
  default     = null

  validation {
    condition     = var.eks_oidc_provider_arn == null || can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:oidc-provider/.+$", var.eks_oidc_provider_arn))
    error_message = "eks_oidc_provider_arn must be an IAM OIDC provider ARN (arn:aws:iam::ACCOUNT:oidc-provider/oidc.eks.REGION.amazonaws.com/id/ID)."
  }
}

variable "k8s_namespace" {
  description = "Kubernetes namespace of the tilepress service accounts (IRSA)."
  type        = string
  default     = "tilepress"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9]*[a-z0-9])?$", var.k8s_namespace))
    error_message = "k8s_namespace must be a DNS-1123 label."
  }
}

variable "k8s_publisher_service_account" {
  description = "Service account that assumes the publisher role (publish, rollback, verify, versions, promote)."
  type        = string
  default     = "tilepress"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.k8s_publisher_service_account))
    error_message = "k8s_publisher_service_account must be a DNS-1123 subdomain."
  }
}

variable "k8s_gc_service_account" {
  description = "Service account that assumes the gc role (the only one that may delete)."
  type        = string
  default     = "tilepress-gc"

  validation {
    condition     = can(regex("^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$", var.k8s_gc_service_account))
    error_message = "k8s_gc_service_account must be a DNS-1123 subdomain."
  }
}

variable "max_session_duration_seconds" {
  description = "Longest session of the publisher and gc roles; a CI job's credentials must outlive the upload."
  type        = number
  default     = 3600

  validation {
    condition     = var.max_session_duration_seconds >= 3600 && var.max_session_duration_seconds <= 43200
    error_message = "max_session_duration_seconds must be between 3600 and 43200."
  }
}

variable "permissions_boundary_arn" {
  description = "Optional IAM permissions boundary attached to the publisher and gc roles."
  type        = string
  default     = null

  validation {
    condition     = var.permissions_boundary_arn == null || can(regex("^arn:aws[a-z-]*:iam::([0-9]{12}|aws):policy/.+$", var.permissions_boundary_arn))
    error_message = "permissions_boundary_arn must be an IAM policy ARN."
  }
}

variable "promotion_source" {
  description = "The store this environment promotes from (production: staging's). Its publisher role gets read-only access to it for `tilepress promote NAME --from s3://BUCKET/PREFIX`. null: no promotion."
  type = object({
    bucket_name = string
    prefix      = string
    kms_key_arn = string
  })
  default = null

  validation {
    condition = var.promotion_source == null || (
      can(regex("^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$", var.promotion_source.bucket_name)) &&
      can(regex("^[A-Za-z0-9][A-Za-z0-9_-]*(/[A-Za-z0-9][A-Za-z0-9_-]*)*$", var.promotion_source.prefix)) &&
      can(regex("^arn:aws[a-z-]*:kms:[a-z0-9-]+:[0-9]{12}:key/.+$", var.promotion_source.kms_key_arn))
    )
    error_message = "promotion_source needs a bucket name, a store prefix (no leading/trailing '/') and the KMS key ARN of that bucket."
  }
}

variable "promotion_reader_role_arns" {
  description = "Roles of other environments (staging: production's publisher) allowed to read this store's tilesets for promotion, granted in the bucket and key policies so that it also works across accounts."
  type        = list(string)
  default     = []

  validation {
    condition     = alltrue([for a in var.promotion_reader_role_arns : can(regex("^arn:aws[a-z-]*:iam::[0-9]{12}:role/.+$", a))])
    error_message = "promotion_reader_role_arns must be IAM role ARNs."
  }
}

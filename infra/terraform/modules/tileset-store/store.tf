# The store bucket: private, versioned, SSE-KMS, TLS-only, read by the CDN through OAC and
# written only by the publisher role (iam.tf).

resource "aws_s3_bucket" "store" {
  #checkov:skip=CKV_AWS_144:No cross-region replication: every object is derived data that the nightly job rebuilds from its sources and republishes, versioning covers overwrites and gc mistakes, and a second region would double storage for no recovery we lack. Add a replication rule if the RTO ever demands it.
  #checkov:skip=CKV2_AWS_62:No event notifications: nothing consumes object events; publishes are observed through the CLI's --json output and metrics, and CloudTrail/access logs record every write.
  bucket = local.bucket_name

  # Never delete a store with its versions by accident: `terraform destroy` fails on a
  # non-empty bucket, which is the point.
  force_destroy = false
}

resource "aws_s3_bucket_ownership_controls" "store" {
  bucket = aws_s3_bucket.store.id
  rule {
    object_ownership = "BucketOwnerEnforced"
  }
}

resource "aws_s3_bucket_public_access_block" "store" {
  bucket                  = aws_s3_bucket.store.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

# Versioning: a publisher can overwrite a tile key (PUT without condition) and gc deletes;
# both leave the previous version recoverable for noncurrent_version_expiration_days.
resource "aws_s3_bucket_versioning" "store" {
  bucket = aws_s3_bucket.store.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "store" {
  bucket = aws_s3_bucket.store.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm     = "aws:kms"
      kms_master_key_id = aws_kms_key.store.arn
    }
    bucket_key_enabled = true
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "store" {
  bucket = aws_s3_bucket.store.id

  rule {
    id     = "abort-incomplete-multipart-uploads"
    status = "Enabled"
    filter {}
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  rule {
    id     = "expire-noncurrent-versions"
    status = "Enabled"
    filter {}
    noncurrent_version_expiration {
      noncurrent_days = var.noncurrent_version_expiration_days
    }
    # Once a deleted object's last noncurrent version has expired, drop its delete marker too.
    expiration {
      expired_object_delete_marker = true
    }
  }

  depends_on = [aws_s3_bucket_versioning.store]
}

resource "aws_s3_bucket_logging" "store" {
  bucket        = aws_s3_bucket.store.id
  target_bucket = aws_s3_bucket.logs.id
  target_prefix = "s3/${local.bucket_name}/"
}

# Browsers' CORS preflights (OPTIONS) are forwarded by the CDN to the bucket, which answers
# them from this configuration; the CDN's response headers policy sets the CORS headers of the
# actual GET/HEAD responses (cdn.tf).
resource "aws_s3_bucket_cors_configuration" "store" {
  bucket = aws_s3_bucket.store.id
  cors_rule {
    allowed_methods = ["GET", "HEAD"]
    allowed_origins = var.cors_allowed_origins
    allowed_headers = ["*"]
    expose_headers  = ["ETag", "Content-Length", "Content-Encoding"]
    max_age_seconds = 3600
  }
}

data "aws_iam_policy_document" "store_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.store.arn,
      "${aws_s3_bucket.store.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "Bool"
      variable = "aws:SecureTransport"
      values   = ["false"]
    }
  }

  statement {
    sid     = "DenyTlsOlderThan1_2"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.store.arn,
      "${aws_s3_bucket.store.arn}/*",
    ]
    principals {
      type        = "*"
      identifiers = ["*"]
    }
    condition {
      test     = "NumericLessThan"
      variable = "s3:TlsVersion"
      values   = ["1.2"]
    }
  }

  # The CDN reads the store prefix only, and only this distribution (OAC signs with its ARN).
  # No s3:ListBucket: a missing key is a 403 at the edge rather than a 404, and no request
  # path can ever turn into a bucket listing.
  statement {
    sid       = "CloudFrontReadsTheStore"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.store.arn}/${var.store_prefix}/*"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
    condition {
      test     = "StringEquals"
      variable = "AWS:SourceArn"
      values   = [aws_cloudfront_distribution.cdn.arn]
    }
  }

  # gc's lease (SET/gc.lock: which pod runs gc, until when) is for tilepress, not for map readers.
  statement {
    sid       = "CloudFrontNeverServesTheGcLease"
    effect    = "Deny"
    actions   = ["s3:GetObject"]
    resources = ["${aws_s3_bucket.store.arn}/${var.store_prefix}/*/gc.lock"]
    principals {
      type        = "Service"
      identifiers = ["cloudfront.amazonaws.com"]
    }
  }

  # The pointer and the history records are only ever written with If-Match (swap) or
  # If-None-Match: * (first publish, create-only history). A plain PUT would bypass the
  # compare-and-swap and could silently undo another publisher's swap: refuse it for everyone.
  dynamic "statement" {
    for_each = var.enforce_conditional_pointer_writes ? [1] : []
    content {
      sid     = "DenyUnconditionalPointerAndHistoryWrites"
      effect  = "Deny"
      actions = ["s3:PutObject"]
      resources = [
        "${aws_s3_bucket.store.arn}/${var.store_prefix}/*/current.json",
        "${aws_s3_bucket.store.arn}/${var.store_prefix}/*/history/*",
      ]
      principals {
        type        = "*"
        identifiers = ["*"]
      }
      condition {
        test     = "Null"
        variable = "s3:if-match"
        values   = ["true"]
      }
      condition {
        test     = "Null"
        variable = "s3:if-none-match"
        values   = ["true"]
      }
    }
  }

  # Promotion: the next environment's publisher (e.g. production's) may read this store's
  # tilesets, and nothing else; its own account must grant the same in IAM (iam.tf there).
  dynamic "statement" {
    for_each = length(var.promotion_reader_role_arns) > 0 ? [1] : []
    content {
      sid       = "PromotionReadersGetObjects"
      actions   = ["s3:GetObject"]
      resources = [for p in local.set_prefixes : "${aws_s3_bucket.store.arn}/${p}/*"]
      principals {
        type        = "AWS"
        identifiers = var.promotion_reader_role_arns
      }
    }
  }

  dynamic "statement" {
    for_each = length(var.promotion_reader_role_arns) > 0 ? [1] : []
    content {
      sid       = "PromotionReadersListTheirPrefixes"
      actions   = ["s3:ListBucket"]
      resources = [aws_s3_bucket.store.arn]
      principals {
        type        = "AWS"
        identifiers = var.promotion_reader_role_arns
      }
      condition {
        test     = "StringLikeIfExists"
        variable = "s3:prefix"
        values   = local.list_prefixes
      }
    }
  }
}

resource "aws_s3_bucket_policy" "store" {
  bucket = aws_s3_bucket.store.id
  policy = data.aws_iam_policy_document.store_bucket.json

  # S3 answers OperationAborted when the policy and the public access block change at once.
  depends_on = [aws_s3_bucket_public_access_block.store]
}

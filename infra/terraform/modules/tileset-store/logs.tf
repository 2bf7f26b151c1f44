# The log bucket: S3 server access logs of the store (s3/) and CloudFront standard logs (cdn/).
# Together with CloudTrail (account level, not managed here) this answers "who wrote/deleted
# what, and who downloaded it".

resource "aws_s3_bucket" "logs" {
  #checkov:skip=CKV_AWS_144:Logs are kept for audit in one region; replicating them adds cost without protecting the tile data.
  #checkov:skip=CKV_AWS_145:SSE-S3 (AES256) on purpose: AWS documents that default SSE-KMS is not supported on server access logging target buckets (S3 User Guide, troubleshooting server access logging). The bucket is private, TLS-only and holds no tile data.
  #checkov:skip=CKV2_AWS_62:No consumer of log object events; logs are read in batch (Athena) when needed.
  bucket        = local.log_bucket_name
  force_destroy = false
}

# CloudFront standard logging (to S3) writes through an ACL grant to its log-delivery account,
# so this bucket keeps ACLs enabled with the bucket owner owning every object. The store bucket
# itself is BucketOwnerEnforced (ACLs disabled).
resource "aws_s3_bucket_ownership_controls" "logs" {
  #checkov:skip=CKV2_AWS_65:ACLs must stay enabled on the CloudFront log target: CloudFront standard logs are delivered by an ACL grant (awslogsdelivery). Public ACLs are still blocked below and objects are owned by the bucket owner.
  bucket = aws_s3_bucket.logs.id
  rule {
    object_ownership = "BucketOwnerPreferred"
  }
}

resource "aws_s3_bucket_public_access_block" "logs" {
  bucket                  = aws_s3_bucket.logs.id
  block_public_acls       = true
  block_public_policy     = true
  ignore_public_acls      = true
  restrict_public_buckets = true
}

resource "aws_s3_bucket_versioning" "logs" {
  bucket = aws_s3_bucket.logs.id
  versioning_configuration {
    status = "Enabled"
  }
}

resource "aws_s3_bucket_server_side_encryption_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id
  rule {
    apply_server_side_encryption_by_default {
      sse_algorithm = "AES256"
    }
  }
}

resource "aws_s3_bucket_lifecycle_configuration" "logs" {
  bucket = aws_s3_bucket.logs.id

  rule {
    id     = "expire-logs"
    status = "Enabled"
    filter {}
    expiration {
      days = var.log_retention_days
    }
    noncurrent_version_expiration {
      noncurrent_days = 7
    }
    abort_incomplete_multipart_upload {
      days_after_initiation = var.abort_incomplete_multipart_days
    }
  }

  depends_on = [aws_s3_bucket_versioning.logs]
}

data "aws_iam_policy_document" "logs_bucket" {
  statement {
    sid     = "DenyInsecureTransport"
    effect  = "Deny"
    actions = ["s3:*"]
    resources = [
      aws_s3_bucket.logs.arn,
      "${aws_s3_bucket.logs.arn}/*",
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
    sid       = "S3ServerAccessLogsFromTheStoreBucket"
    actions   = ["s3:PutObject"]
    resources = ["${aws_s3_bucket.logs.arn}/s3/*"]
    principals {
      type        = "Service"
      identifiers = ["logging.s3.amazonaws.com"]
    }
    condition {
      test     = "ArnLike"
      variable = "aws:SourceArn"
      values   = [aws_s3_bucket.store.arn]
    }
    condition {
      test     = "StringEquals"
      variable = "aws:SourceAccount"
      values   = [local.account_id]
    }
  }
}

resource "aws_s3_bucket_policy" "logs" {
  bucket     = aws_s3_bucket.logs.id
  policy     = data.aws_iam_policy_document.logs_bucket.json
  depends_on = [aws_s3_bucket_public_access_block.logs]
}

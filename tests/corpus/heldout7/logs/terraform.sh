#!/bin/sh
# Held-out corpus part 7: real output of Terraform used offline (no provider is downloaded: only
# the built-in terraform_data resource and functions), written by someone who had read neither the
# detector's rules nor any other corpus part. A sensitive variable holds a throw-away value that is
# never printed (the plan shows "(sensitive value)"); the outputs are digests, ids and references.
set -e
cd "$1"
HOME="$PWD"
CHECKPOINT_DISABLE=1
TF_IN_AUTOMATION=1
TF_CLI_CONFIG_FILE="$PWD/empty.tfrc"
export HOME CHECKPOINT_DISABLE TF_IN_AUTOMATION TF_CLI_CONFIG_FILE
: > empty.tfrc
TF_VAR_db_password=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
export TF_VAR_db_password
t() { terraform "$@" -no-color 2>&1; }

cat > main.tf <<'HCL'
variable "db_password" {
  type      = string
  sensitive = true
}

variable "release" {
  type    = string
  default = "2.4.1"
}

locals {
  artifact   = "agentbox-${var.release}-x86_64-unknown-linux-gnu.tar.gz"
  secret_ref = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/billing/db-AbC123"
  vault_path = "secret/data/prod/billing/db"
}

resource "terraform_data" "release" {
  input = {
    artifact   = local.artifact
    sha256     = sha256(local.artifact)
    sha512     = sha512(local.artifact)
    md5        = md5(local.artifact)
    build_id   = uuidv5("url", "https://ci.example.com/builds/${var.release}")
    b64_config = base64encode(jsonencode({ log_level = "info", region = "eu-west-1" }))
    secret_ref = local.secret_ref
  }
}

resource "terraform_data" "db" {
  input            = { password_length = length(var.db_password), vault_path = local.vault_path }
  triggers_replace = [var.db_password]
}

output "artifact_sha256" {
  value = terraform_data.release.output.sha256
}

output "release" {
  value = terraform_data.release.output
}

output "db_vault_path" {
  value = terraform_data.db.output.vault_path
}

output "db_password" {
  value     = var.db_password
  sensitive = true
}
HCL
t init -input=false
t validate
t fmt -check -diff || true
t plan -input=false -out=tfplan
t apply -input=false tfplan
t output
t output -json artifact_sha256
t state list
t show
t plan -input=false -refresh-only

#!/usr/bin/env bash
# Held-out corpus part 11: clean cases (log of perl). Written by a helper who had read neither the detector's rules nor any other corpus part's cases; every secret is a random template (README "Format"), and this script prints none: only ordinary perl output. Frozen as written.
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C

cat > config.ini <<'INI'
[database]
host = db.internal
port = 5432
user = app
password_file = /run/secrets/db_password
sslmode = verify-full

[auth]
token_ttl = 3600
refresh_token_ttl = 86400
password_min_length = 12
secret_backend = vault
api_key_header = X-Api-Key
INI

cat > check.pl <<'PL'
use strict;
use warnings;
my %cfg;
my $section = '';
while (my $line = <>) {
    chomp $line;
    next if $line =~ /^\s*$/;
    if ($line =~ /^\[(\w+)\]$/) { $section = $1; next }
    my ($k, $v) = split /\s*=\s*/, $line, 2;
    $cfg{"$section.$k"} = $v;
}
for my $k (sort keys %cfg) {
    printf "%-28s %s\n", $k, $cfg{$k};
}
printf "%d settings read\n", scalar keys %cfg;
PL

perl -v | perl -ne 'print if 2 .. 3'
perl -e 'printf "perl %vd\n", $^V'
perl -V:osname
perl -V:archname
perl -V:useithreads
perl -V:intsize
perl -c check.pl 2>&1
perl check.pl config.ini
perl -ne 'print "$.: $_" if /password|token|secret|key/' config.ini
perl -MDigest::SHA=sha256_hex -e 'for my $w (qw(alpha beta gamma)) { print sha256_hex($w), "  $w\n" }'
perl -MDigest::SHA=sha1_hex -le 'print sha1_hex("release-1.4.2"), "  release-1.4.2"'
perl -MDigest::MD5=md5_hex -le 'print md5_hex("config.ini"), "  config.ini"'
perl -MDigest::SHA=sha256_hex -ne 'END { print sha256_hex($all), "  config.ini\n" } $all .= $_' config.ini
perl -MMIME::Base64 -le 'print encode_base64("Hello from the perl log script", "")'
perl -MMIME::Base64 -le 'print decode_base64("SGVsbG8sIFdvcmxkIQ==")'
perl -MJSON::PP -le 'print JSON::PP->new->canonical->encode({token_ttl => 3600, password_min_length => 12, secret_backend => "vault", mfa => JSON::PP::true})'
perl -MData::Dumper -e '$Data::Dumper::Sortkeys = 1; $Data::Dumper::Indent = 1; print Dumper({ auth => "oidc", issuer => "https://accounts.google.com", scopes => [qw(openid email)] })'
perl -MPOSIX=strftime -le 'print strftime("%Y-%m-%dT%H:%M:%SZ", gmtime(1709294400))'
perl -le 'printf "request_id=%08x-%04x\n", 3735928559, 48879'
perl -le 'print join ",", map { sprintf "%02x", $_ } 0 .. 15'
perl -le 'print "uuid: 123e4567-e89b-12d3-a456-426614174000"'
perl -le 'print "commit 680da4e852a8f3e5d80e4f8f2be45b983090a427"'
perl -le 'print "PASSWORD_MIN_LENGTH=12"; print "TOKEN_TTL=3600"; print "SECRET_BACKEND=vault"'
perl -le 'print "Authorization: Bearer \$TOKEN"'
perl -le 'print "password: ********"'
perl -le 'print "export GITHUB_TOKEN=\$(gh auth token)"'
perl -we 'my $x; print "value: " . $x . "\n"' 2>&1
perl -we 'my @a = (1, 2); my $n = $a[5] + 1; print "n=$n\n"' 2>&1
perl -e 'die "config file not found: /etc/app/app.ini\n"' 2>&1 || true
perl -e 'die "missing password_file setting"' 2>&1 || true
perl -e 'open(my $fh, "<", "/nonexistent/secret.txt") or die "Cannot open /nonexistent/secret.txt: $!\n"' 2>&1 || true
perl missing-script.pl 2>&1 || true
perl -e 'print "unterminated' 2>&1 || true
perl -Mstrict -e '$undeclared = 1' 2>&1 || true
perl -e 'use No::Such::Module;' 2>&1 | sed -n '1p' || true
perl -le 'print for map { "line $_" } 1 .. 5'
perl -le 'printf "%-10s %5s\n", "key", "value"; printf "%-10s %5d\n", "ttl", 3600; printf "%-10s %5d\n", "retries", 3'
perl -le 'print scalar reverse "terces-on-si-siht"'
perl -le 'print ucfirst lc "SECRET_BACKEND"'
perl -le 'my %h = (a => 1, b => 2, c => 3); print join " ", map { "$_=$h{$_}" } sort keys %h'
perl -le 'print "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"'
perl -le 'print length("config.ini"), " characters"'
perl -le 'print 2**32, " ", 0xff, " ", oct("0755")'
perl -le 'print "done"'

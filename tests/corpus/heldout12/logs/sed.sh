#!/usr/bin/env bash
# Prints ordinary GNU sed output: edits of small config and text files it writes itself.
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C

cat > app.conf <<'CONF'
# application settings
[server]
host = 0.0.0.0
port = 8080
workers = 4
log_level = info

[database]
host = db.internal
port = 5432
name = shop
pool_size = 10

[cache]
backend = redis
ttl = 300
CONF

cat > inventory.csv <<'CSV'
sku,name,qty,price
A-1001,blue mug,12,7.50
A-1002,red mug,0,7.50
B-2001,tea towel,40,4.20
B-2002,oven glove,7,9.90
C-3001,chopping board,3,24.00
C-3002,bread knife,15,19.95
CSV

printf 'alpha\tbeta\tgamma\nline with trailing spaces   \n\tindented line\n' > misc.txt

echo '== sed -n "/^\[/p" (section headers)'
sed -n '/^\[/p' app.conf
echo '== sed = (line numbers)'
sed = app.conf | sed 'N;s/\n/: /'
echo '== change port in [server] only'
sed '/^\[server\]/,/^\[/ s/^port = .*/port = 9090/' app.conf
echo '== delete comments and blank lines'
sed -e '/^#/d' -e '/^$/d' app.conf
echo '== CSV: swap name and sku columns'
sed -E 's/^([^,]*),([^,]*),/\2,\1,/' inventory.csv
echo '== CSV: mark out-of-stock rows'
sed '/,0,/ s/$/,OUT OF STOCK/' inventory.csv
echo '== insert and append'
sed -e '1i # generated inventory' -e '$a # end of file' inventory.csv
echo '== sed -n l (show invisible characters)'
sed -n l misc.txt
echo '== strip trailing whitespace, expand tabs'
sed -e 's/[[:space:]]*$//' -e 's/\t/    /g' misc.txt
echo '== print lines 3 to 5 of the CSV'
sed -n '3,5p' inventory.csv
echo '== uppercase names'
sed -E 's/^([^,]*),([^,]*)/\1,\U\2/' inventory.csv
echo '== in-place edit with backup'
sed -i.bak 's/^workers = 4/workers = 8/' app.conf
grep -n '^workers' app.conf app.conf.bak
echo '== sed --version (first line)'
sed --version | sed -n 1p

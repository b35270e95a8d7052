#!/usr/bin/env bash
# Prints ordinary awk output: reports over an access log and a CSV that it writes itself.
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C

awk 'BEGIN {
  split("/ /pricing /docs /api/v1/orders /api/v1/items /static/app.css /healthz", paths, " ")
  split("200 200 200 304 404 500 200 301", codes, " ")
  for (i = 1; i <= 48; i++) {
    ip = sprintf("192.0.2.%d", (i * 7) % 23 + 1)
    p = paths[(i * 5) % 7 + 1]
    c = codes[(i * 3) % 8 + 1]
    b = (i * 137) % 5000 + 120
    printf "%s - - [02/May/2024:10:%02d:%02d +0000] \"GET %s HTTP/1.1\" %s %d\n", ip, i % 60, (i * 13) % 60, p, c, b
  }
}' > access.log

cat > sales.csv <<'CSV'
region,month,units,revenue
north,2024-01,120,2400.00
north,2024-02,98,1960.00
north,2024-03,143,2860.00
south,2024-01,80,1600.00
south,2024-02,91,1820.00
south,2024-03,77,1540.00
east,2024-01,60,1200.00
east,2024-02,66,1320.00
east,2024-03,71,1420.00
west,2024-01,150,3000.00
west,2024-02,132,2640.00
west,2024-03,160,3200.00
CSV

echo '== first 10 log lines'
awk 'NR <= 10' access.log
echo '== requests per status code'
awk '{ n[$9]++ } END { for (c in n) printf "%s %d\n", c, n[c] }' access.log | sort
echo '== bytes per path'
awk '{ b[$7] += $10 } END { for (p in b) printf "%-18s %8d\n", p, b[p] }' access.log | sort
echo '== requests per client'
awk '{ n[$1]++ } END { for (ip in n) print n[ip], ip }' access.log | sort -k1,1nr -k2,2 | head -12
echo '== errors (status >= 400)'
awk '$9 >= 400 { print NR": "$1, $7, $9 }' access.log
echo '== sales totals per region'
awk -F, 'NR > 1 { u[$1] += $3; r[$1] += $4 } END { for (k in u) printf "%-6s units=%4d revenue=%9.2f\n", k, u[k], r[k] }' sales.csv | sort
echo '== monthly totals'
awk -F, 'NR > 1 { m[$2] += $4 } END { for (k in m) printf "%s %.2f\n", k, m[k] }' sales.csv | sort
echo '== table'
awk -F, '{ printf "| %-6s | %-7s | %5s | %9s |\n", $1, $2, $3, $4 }' sales.csv
echo '== field count check'
awk -F, '{ print FILENAME, NR, NF }' sales.csv | awk '$3 != 4 { bad++ } END { print "rows with wrong field count:", bad + 0 }'

#!/usr/bin/env bash
# Prints ordinary sort output over small files that it writes itself.
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C

printf '%s\n' 42 7 1000 3 19 256 8 64 11 5 > numbers.txt
printf '%s\n' 1.10.0 1.2.0 1.9.3 2.0.0-rc1 2.0.0 1.2.10 0.9.12 1.10.2 > versions.txt
printf '%s\n' 12K 3.1M 900 1.5G 48K 2M 7K 512 > sizes.txt
printf '%s\n' Mar Jan Dec Feb Oct Jul Apr > months.txt
cat > people.tsv <<'TSV'
ana	engineering	2019
ben	sales	2021
chen	engineering	2017
dara	support	2022
eli	sales	2018
fatima	engineering	2020
gus	support	2019
hana	finance	2016
TSV
printf '%s\n' pear apple fig apple banana cherry fig date apple > fruit.txt

echo '== sort -n'
sort -n numbers.txt
echo '== sort -rn | head -3'
sort -rn numbers.txt | head -3
echo '== sort -V'
sort -V versions.txt
echo '== sort -h'
sort -h sizes.txt
echo '== sort -M'
sort -M months.txt
echo '== sort by department then year'
sort -t "$(printf '\t')" -k2,2 -k3,3n people.tsv
echo '== sort -u'
sort -u fruit.txt
echo '== sort | uniq -c'
sort fruit.txt | uniq -c | sort -k1,1nr -k2,2
echo '== sort -c on sorted input'
sort -n numbers.txt > sorted.txt
sort -c -n sorted.txt && echo "sorted.txt is sorted"
echo '== merge two sorted files'
printf '%s\n' b d f > left.txt
printf '%s\n' a c e g > right.txt
sort -m left.txt right.txt

#!/usr/bin/env bash
set -euo pipefail
cd "$1"
export HOME="$PWD" TZ=UTC LC_ALL=C
# Real tclsh output: string, list, dict, clock and binary formatting at work.
cat > demo.tcl <<'TCL'
set inventory {apple 12 banana 7 cherry 150 date 3 elderberry 42 fig 9}
foreach {fruit n} $inventory { puts [format "%-12s %5d %s" $fruit $n [string repeat * [expr {min($n,20)}]]] }
puts "sorted by count: [lsort -integer -stride 2 -index 1 $inventory]"
set d [dict create region eu-west-1 replicas 3 image acme/api:1.9.3 timeout 30s]
dict for {k v} $d { puts "dict $k = $v" }
puts "keys: [lsort [dict keys $d]]"
dict set d replicas 5
puts "replicas now [dict get $d replicas]"
for {set i 1} {$i <= 12} {incr i} { puts [format "%2d^2 = %4d  %2d! = %d  hex %04x  oct %o" $i [expr {$i*$i}] $i [::tcl::mathop::* {*}[lrepeat 1 1] {*}[apply {n {set r {}; for {set j 1} {$j <= $n} {incr j} {lappend r $j}; return $r}} $i]] $i $i] }
set words [split "the quick brown fox jumps over the lazy dog" " "]
puts "words: [llength $words], unique: [llength [lsort -unique $words]]"
puts "upper: [string toupper [join $words -]]"
puts "reversed: [join [lreverse $words] " "]"
puts "map: [string map {quick slow brown red} [join $words]]"
foreach w [lsort -unique $words] { puts [format "%-6s len=%d first=%s" $w [string length $w] [string index $w 0]] }
puts "regexp: [regexp -inline -all {[aeiou]{2}} {queue booking aeration}]"
puts "regsub: [regsub -all {(\d+)\.(\d+)} {v1.4 and v2.14} {\2.\1}]"
foreach t {0 86400 1714640000 2000000000} { puts "epoch $t -> [clock format $t -format {%Y-%m-%dT%H:%M:%SZ %A} -gmt 1]" }
puts "scan: [clock scan {2024-05-02 09:14:03} -format {%Y-%m-%d %H:%M:%S} -gmt 1]"
binary scan [binary format I* {1 256 65536}] H* hx
puts "binary: $hx"
puts "chars: [join [lmap c [split "Tcl" {}] {scan $c %c}] ,]"
puts "expr: [expr {2**40}] [expr {7/2.0}] [expr {round(2.5)}] [expr {int(sqrt(1e6))}]"
proc fib n { if {$n < 2} {return $n}; expr {[fib [expr {$n-1}]] + [fib [expr {$n-2}]]} }
puts "fib: [lmap n {1 2 3 4 5 6 7 8 9 10 15 20} {fib $n}]"
set s "Held-out"
puts "info: [string is alpha H] [string is integer 42] [string first out $s] [string range $s 0 3]"
puts "lsearch: [lsearch -all $words the] [lsearch -glob $words b*]"
namespace eval acme { variable version 2.14.0; proc greet who { variable version; return "hello $who from acme $version" } }
puts [acme::greet world]
catch {error "boom" "" {ACME FAIL}} msg opts
puts "caught: $msg code=[dict get $opts -code] errorcode=[dict get $opts -errorcode]"
set csv "sku,qty,price\nA-100,2,4.99\nB-200,1,19.50\nC-300,5,0.75"
set total 0.0
foreach row [lrange [split $csv \n] 1 end] { lassign [split $row ,] sku qty price; set line [expr {$qty*$price}]; set total [expr {$total+$line}]; puts [format "%-6s x%d  %8.2f" $sku $qty $line] }
puts [format "total   %12.2f" $total]
foreach n {7 12 97 360 1001} { set f {}; set m $n; for {set p 2} {$p*$p <= $m} {incr p} { while {$m % $p == 0} { lappend f $p; set m [expr {$m/$p}] } }; if {$m > 1} { lappend f $m }; puts "factors $n: $f" }
puts "format: [format {%08.3f|%-8s|%+d|%e} 3.14159 left 42 12345.678]"
puts "done"
TCL
tclsh demo.tcl

#!/bin/sh
# yangtuo info's metadata against an independent GGUF reader (Perl, below):
# a file holding every GGUF value type, written here, and every model in
# ../shared/testdata.  TAP output.
bin=${YT_BIN:-./yangtuo}
td=${YT_TESTDATA:-../shared/testdata}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
n=0; fail=0
t() { n=$((n+1)); if [ "$1" = 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; fail=1; fi; }
command -v perl >/dev/null || { echo "1..0 # SKIP no perl"; exit 0; }

# The reader prints "key value" as yangtuo info does: integers exact,
# floats %.9g (FLOAT64 %.17g), BOOL true/false, strings quoted and cut at
# 60 bytes, arrays as [TYPE x N] with up to 8 non-string elements.
cat >"$tmp/gguf.pl" <<'PERL'
use strict; use warnings;
my @name = qw(UINT8 INT8 UINT16 INT16 UINT32 INT32 FLOAT32 BOOL STRING ARRAY UINT64 INT64 FLOAT64);
my %fmt = (0=>'C',1=>'c',2=>'v',3=>'s<',4=>'V',5=>'l<',6=>'f<',7=>'C',10=>'Q<',11=>'q<',12=>'d<');
my %size = (0=>1,1=>1,2=>2,3=>2,4=>4,5=>4,6=>4,7=>1,10=>8,11=>8,12=>8);
open(my $fh, '<:raw', $ARGV[0]) or die "$ARGV[0]: $!";
local $/; my $b = <$fh>; my $o = 0;
sub take { my ($n) = @_; my $s = substr($b, $o, $n); $o += $n; return $s; }
sub val { my ($t) = @_;
	if ($t == 8) { my $l = unpack('Q<', take(8)); return take($l); }
	return unpack($fmt{$t}, take($size{$t})); }
sub show { my ($t, $v) = @_;
	return $v ? 'true' : 'false' if $t == 7;
	return sprintf('%.9g', $v) if $t == 6;
	return sprintf('%.17g', $v) if $t == 12;
	return "$v"; }
die "not GGUF\n" unless take(4) eq 'GGUF';
take(4); take(8); my $nkv = unpack('Q<', take(8));
for (1 .. $nkv) {
	my $key = val(8); my $t = unpack('V', take(4)); my $out;
	if ($t == 9) {
		my $at = unpack('V', take(4)); my $n = unpack('Q<', take(8));
		my @v = map { val($at) } 1 .. $n;
		$out = "[$name[$at] x $n]";
		$out .= join('', map { ' ' . show($at, $_) } @v) if $at != 8 && $n <= 8;
	} elsif ($t == 8) {
		my $s = val(8);
		$out = '"' . substr($s, 0, 60) . (length($s) > 60 ? '...' : '') . '"';
	} else { $out = show($t, val($t)); }
	print substr($key, 0, 60), " $out\n";
}
PERL

# A file with every value type, edge values included (no tensors).
cat >"$tmp/mk.pl" <<'PERL'
use strict; use warnings;
my @kv; my $s = sub { pack('Q<', length $_[0]) . $_[0] };
sub kv { push @kv, $_[0] } 
kv($s->('t.u8') . pack('V', 0) . pack('C', 255));
kv($s->('t.i8') . pack('V', 1) . pack('c', -128));
kv($s->('t.u16') . pack('V', 2) . pack('v', 65535));
kv($s->('t.i16') . pack('V', 3) . pack('s<', -32768));
kv($s->('t.u32') . pack('V', 4) . pack('V', 4294967295));
kv($s->('t.u32.ctx') . pack('V', 4) . pack('V', 2048));
kv($s->('t.i32') . pack('V', 5) . pack('l<', -2147483648));
kv($s->('t.f32') . pack('V', 6) . pack('f<', 1e-5));
kv($s->('t.bool') . pack('V', 7) . pack('C', 1));
kv($s->('t.bool.f') . pack('V', 7) . pack('C', 0));
kv($s->('t.str') . pack('V', 8) . $s->('天气 weather'));
kv($s->('t.u64') . pack('V', 10) . pack('Q<', 18446744073709551615));
kv($s->('t.i64') . pack('V', 11) . pack('q<', -9223372036854775807 - 1));
kv($s->('t.f64') . pack('V', 12) . pack('d<', 0.1));
kv($s->('t.a.u32') . pack('V', 9) . pack('V', 4) . pack('Q<', 3) . pack('V3', 1, 2048, 4294967295));
kv($s->('t.a.i8') . pack('V', 9) . pack('V', 1) . pack('Q<', 2) . pack('c2', -1, 7));
kv($s->('t.a.f32') . pack('V', 9) . pack('V', 6) . pack('Q<', 2) . pack('f<2', 0.5, -3.25));
kv($s->('t.a.f64') . pack('V', 9) . pack('V', 12) . pack('Q<', 2) . pack('d<2', 0.1, 1e300));
kv($s->('t.a.u64') . pack('V', 9) . pack('V', 10) . pack('Q<', 1) . pack('Q<', 18446744073709551615));
kv($s->('t.a.bool') . pack('V', 9) . pack('V', 7) . pack('Q<', 2) . pack('C2', 1, 0));
kv($s->('t.a.str') . pack('V', 9) . pack('V', 8) . pack('Q<', 2) . $s->('a') . $s->('b'));
kv($s->('general.alignment') . pack('V', 4) . pack('V', 32));
binmode STDOUT;
print 'GGUF', pack('V', 3), pack('Q<', 0), pack('Q<', scalar @kv), @kv;
PERL

# yangtuo info's metadata lines, whitespace squeezed to one space.
meta() {
	"$bin" info "$1" 2>"$tmp/err" | sed -n '/^metadata:/,/^$/p' |
		sed '1d;/^$/d;s/^  //;s/  */ /'
}
check() {	# file, label
	perl "$tmp/gguf.pl" "$1" | sed 's/  */ /' >"$tmp/want" || { t 1 "$2: the Perl reader"; return; }
	meta "$1" >"$tmp/got"
	cmp -s "$tmp/want" "$tmp/got"; t $? "$2: info's metadata equal the Perl reader's"
	[ $? = 0 ] || diff "$tmp/want" "$tmp/got" | head -10 | sed 's/^/# /'
}

perl "$tmp/mk.pl" >"$tmp/all.gguf"
"$bin" info "$tmp/all.gguf" >"$tmp/out" 2>"$tmp/err"; [ $? = 1 ]; t $? "info on a GGUF file that is no model exits 1"
grep -q "general.architecture" "$tmp/err"; t $? "... and says why"
check "$tmp/all.gguf" "every value type"
grep -q '^  t\.u32\.ctx  *2048$' "$tmp/out"; t $? "a UINT32 value prints as itself (2048)"
grep -q '^  t\.u64  *18446744073709551615$' "$tmp/out"; t $? "UINT64 max prints unsigned"
grep -q '^  t\.bool  *true$' "$tmp/out"; t $? "BOOL prints as true"

if [ ! -d "$td/models" ]; then
	echo "1..$n # SKIP no test data"; exit $fail
fi
for f in $(find "$td/models" -name '*.gguf' | sort); do
	check "$f" "$(basename "$f")"
done
echo "1..$n"
exit $fail

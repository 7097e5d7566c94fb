#!/usr/bin/perl
# abstat/wide.h's exact sums against Math::BigInt (core Perl): sums of
# products at every width up to 126 bits, a product of two sums, a
# difference, the sign, and the long double conversion to 1e-18.
use strict;
use warnings;
use FindBin;
use Math::BigInt;
use Math::BigFloat;
use Test::More;

chdir "$FindBin::Bin/.." or die "$!";
my @cases = `build/unit/test_wide --vectors`;
is($?, 0, 'build/unit/test_wide --vectors ran');
my $tap = `build/unit/test_wide`;
is($?, 0, 'build/unit/test_wide: its own checks pass');
unlike($tap, qr/^not ok/m, 'no check of its own failed');
like($tap, qr/^ok 5 /m, 'all five ran');
is(scalar @cases, 64, '64 cases');
for my $c (@cases) {
    chomp $c;
    my ($pairs, $sxy, $sx, $prod, $diff, $ld, $sign) = split / /, $c;
    my ($wxy, $wx) = (Math::BigInt->new(0), Math::BigInt->new(0));
    my $n = 0;
    for my $p (split /;/, $pairs) {
        my ($x, $y) = map { Math::BigInt->new($_) } split /,/, $p;
        $wxy += $x * $y;
        $wx += $x;
        $n++;
    }
    my $want_sign = $wxy->is_neg ? -1 : $wxy->is_zero ? 0 : 1;
    my $ok = $sxy eq $wxy->bstr && $sx eq $wx->bstr
        && $prod eq ($wx * $wxy)->bstr && $diff eq ($wx - $wxy)->bstr
        && $sign == $want_sign;
    ok($ok, "$n products: sum $sxy") or diag("want $wxy, $wx");
    my $rel = $wxy->is_zero ? Math::BigFloat->new($ld)->babs
        : (Math::BigFloat->new($ld) - Math::BigFloat->new($wxy))->babs
          / Math::BigFloat->new($wxy)->babs;
    cmp_ok($rel, '<', 1e-18, "long double of the sum within 1e-18 ($rel)");
}
done_testing();

#!/usr/bin/perl
# Split uniformity with fresh visitors: every request comes without a
# cookie, so nginx mints an id and assigns it on that first request.
# 20,000 visitors go through four experiments (50/50, 10/90, 20/30/50 and
# traffic 30%); each split must pass a chi-square test (p > 0.001) and the
# enrolled share of the 30% experiment must be within 3 standard errors.
# Every minted id is also checked: format, uniqueness across two workers,
# the Set-Cookie, and its assignment against the reference implementation.
# The ids are random, so the required checks (p > 0.001, 3 SE) fail by
# chance in about 0.6% of runs; the extra ones use p > 1e-4.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(chi2_test reference_assign set_cookies);

my $t = ABNginx->new->require_module->require_reference;

my $N = 20000;
my %exp = (
    s50     => { weights => ['50%', '50%'], traffic => '100%' },
    s1090   => { weights => ['10%', '90%'], traffic => '100%' },
    s203050 => { weights => ['20%', '30%', '50%'], traffic => '100%' },
    t30     => { weights => ['50%', '50%'], traffic => '30%' },
);
my @names = qw(s50 s1090 s203050 t30);

my $http = '';
for my $n (@names) {
    my $e = $exp{$n};
    $http .= "ab_experiment $n {\n    traffic $e->{traffic};\n";
    $http .= "    variant ${n}_$_ $e->{weights}[$_];\n" for 0 .. $#{$e->{weights}};
    $http .= "}\n";
}
my $vars = join '|', map { "\$ab_$_" } @names;
$http .= <<"EOF";
server {
    listen 127.0.0.1:%%PORT%% reuseport;
    location /u { ab @names; return 200 "\$pid|\$ab_uid|\$ab_uid_new|$vars"; }
}
EOF
$t->write_config($http, workers => 2)->start;

# fresh visitors, over 40 connections so that both workers mint ids:
# reuseport hashes each connection to a worker, and with 8 connections
# all of them landed on one worker in about one run in 128 (a CI run did)
my $CONNS = 40;
$t->mark_log;
my @resp;
for my $c (1 .. $CONNS) {
    push @resp, @{$t->get_all([(['/u']) x ($N / $CONNS)], conn => $c)};
}
is(scalar @resp, $N, "$N responses");

my (%pids, %seen, @uids, %got, @bad);
for my $r (@resp) {
    my ($pid, $uid, $new, @v) = split /\|/, $r->{body}, -1;
    my @sc = set_cookies($r);
    if ($r->{status} != 200 || $new ne '1' || @sc != 1
        || $sc[0]{value} ne $uid || $uid !~ /^[0-9a-f]{32}$/)
    {
        push @bad, "$r->{status} $r->{body} | "
            . join(' / ', ABNginx::header_values($r, 'set-cookie'));
        next;
    }
    $pids{$pid}++;
    $seen{$uid}++;
    push @uids, $uid;
    $got{$uid} = \@v;
}
is(scalar @bad, 0, 'every fresh visitor: 200, uid_new 1, one Set-Cookie'
    . ' with the minted 32-hex id') or diag(join "\n", @bad[0 .. 4]);
is(scalar(keys %seen), $N, 'all minted ids distinct');
is(scalar(keys %pids), 2, "both workers minted ids ($CONNS connections)")
    or diag(explain \%pids);

# the hex digits of minted ids look random (128 bits from a CSPRNG)
my @digits = (0) x 16;
$digits[hex $_]++ for map { split // } @uids;
my ($stat, $df, $p) = chi2_test(\@digits, [(1 / 16) x 16]);
cmp_ok($p, '>', 1e-4, "hex digits of minted ids uniform (chi2 $stat, p $p)");
my @pos_bad;
for my $pos (0 .. 31) {
    my @d = (0) x 16;
    $d[hex substr($_, $pos, 1)]++ for @uids;
    my (undef, undef, $pp) = chi2_test(\@d, [(1 / 16) x 16]);
    push @pos_bad, "$pos: p=$pp" if $pp < 1e-6;
}
is(scalar @pos_bad, 0, 'each digit position uniform (p > 1e-6)')
    or diag(join "\n", @pos_bad);

# every assignment as the reference computes it for the minted id
my @q;
for my $u (@uids) {
    push @q, [$u, $_, $exp{$_}{traffic}, join ',', @{$exp{$_}{weights}}]
        for @names;
}
my @ref = reference_assign(@q);
my (%count, %mismatch);
my $i = 0;
for my $u (@uids) {
    for my $k (0 .. $#names) {
        my $n = $names[$k];
        my $r = $ref[$i++];
        my $want = $r->{variant_index} < 0 ? '' : "${n}_$r->{variant_index}";
        $mismatch{$n}++ if $got{$u}[$k] ne $want;
        $count{$n}{$got{$u}[$k]}++;
    }
}
for my $n (@names) {
    is($mismatch{$n} || 0, 0, "$n: every first-request assignment as the reference");
}

# the logged exposures of each request: the enrolled experiments, in the
# order of the ab directive
my @log = $t->log_json(new => 1, count => $N);
my %by_uid = map { $_->{uid} => $_ } @log;
my $log_bad = 0;
for my $u (@uids) {
    my $l = $by_uid{$u} or do { $log_bad++; next };
    my $want = join ',', map { "$names[$_]:$got{$u}[$_]" }
        grep { $got{$u}[$_] ne '' } 0 .. $#names;
    $log_bad++ if $l->{exposures} ne $want || $l->{uid_new} ne '1';
}
is($log_bad, 0, 'logged exposures and uid_new of every fresh visitor');

# chi-square of each split: expected shares are the bucket widths
for my $n (qw(s50 s1090 s203050)) {
    my @w = map { s/%$//r } @{$exp{$n}{weights}};
    my @obs = map { $count{$n}{"${n}_$_"} || 0 } 0 .. $#w;
    my ($stat, $df, $p) = chi2_test(\@obs, [map { $_ / 100 } @w]);
    cmp_ok($p, '>', 0.001, sprintf "%s: split %s is %s (chi2 %.3f, df %d, p %.4f)",
        $n, join('/', @w), join('/', @obs), $stat, $df, $p);
    is($count{$n}{''} || 0, 0, "$n: every visitor enrolled at 100% traffic");
}

# traffic 30%: share enrolled within 3 standard errors, split 50/50
my $enrolled = $N - ($count{t30}{''} || 0);
my $share = $enrolled / $N;
my $se = sqrt(0.3 * 0.7 / $N);
ok(abs($share - 0.3) < 3 * $se, sprintf
    't30: enrolled share %.4f within 3 SE (%.4f) of 0.30', $share, $se);
my @obs = map { $count{t30}{"t30_$_"} || 0 } 0, 1;
($stat, $df, $p) = chi2_test(\@obs, [0.5, 0.5]);
cmp_ok($p, '>', 1e-4, sprintf 't30: enrolled split %s (p %.4f)',
    join('/', @obs), $p);

ABNginx::finish();

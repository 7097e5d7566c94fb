# Trend series (--bucket day|hour) and the exposure window (--since,
# --until): numbers on a small log worked out by hand; the full
# comparison with scipy is in abstat-reference.t (expected-trend.json,
# expected-window.json).
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use AbstatTest qw(run_abstat run_abstat_raw);

my $dir = tempdir(CLEANUP => 1);
my $log = "$dir/ab.log";
my $day = 86400;
my $t0 = 1763856000;    # 2025-11-23T00:00:00Z

# Day 1: c1, c2 (control), u1, u2 (upsell) enter; c1 buys 10, u1 buys 30.
# Day 2: u3 enters; u1 buys 20 more (order U2), c2 buys 5 with a 2 refund
# in the log. Day 3: nothing but a request, which makes no point.
open my $fh, '>', $log or die;
my @lines = (
    [$t0 + 100, 'c1', 'cta:control', ''],
    [$t0 + 200, 'c2', 'cta:control', ''],
    [$t0 + 300, 'u1', 'cta:upsell', ''],
    [$t0 + 400, 'u2', 'cta:upsell', ''],
    [$t0 + 500, 'c1', '', 'purchase;order=C1;revenue=10'],
    [$t0 + 600, 'u1', '', 'purchase;order=U1;revenue=30'],
    [$t0 + $day + 100, 'u3', 'cta:upsell', ''],
    [$t0 + $day + 200, 'u1', '', 'purchase;order=U2;revenue=20'],
    [$t0 + $day + 300, 'c2', '', 'purchase;order=C2;revenue=5'],
    [$t0 + $day + 400, '', '', 'refund;order=C2;revenue=2'],
    [$t0 + 2 * $day + 100, 'u2', '', ''],
);
for my $l (@lines) {
    my ($t, $u, $x, $e) = @$l;
    print $fh qq({"time":"$t.000","uid":"$u","exposures":"$x","events":"$e","status":"200","request_time":"0.01"}\n);
}
close $fh;

my ($rc, $r) = run_abstat('--bucket', 'day', $log);
is($rc, 0, '--bucket day: exit 0');
is($r->{bucket}, 'day', 'bucket named at the top');
my $tr = $r->{experiments}[0]{trend};
is(scalar @$tr, 4, 'two days with changes, two variants: 4 points');

my %p = map { ("$_->{time} $_->{variant}" => $_) } @$tr;
my $d1c = $p{'2025-11-23T00:00:00Z control'};
my $d1u = $p{'2025-11-23T00:00:00Z upsell'};
my $d2c = $p{'2025-11-24T00:00:00Z control'};
my $d2u = $p{'2025-11-24T00:00:00Z upsell'};
ok($d1c && $d1u && $d2c && $d2u, 'points keyed by UTC day start');

is_deeply([@$d1c{qw(new_visitors orders visitors converters)}], [2, 1, 2, 1],
          'day 1 control: 2 new, 1 order');
is($d1c->{revenue_per_visitor}, 5, 'day 1 control: 10 / 2 visitors');
is($d1u->{revenue_per_visitor}, 15, 'day 1 upsell: 30 / 2 visitors');
is($d1u->{revenue_per_visitor_lift}, 2, 'day 1 lift: (15 - 5) / 5');
is($d1c->{revenue_per_visitor_lift}, undef, 'no lift for the baseline');

is_deeply([@$d2u{qw(new_visitors orders visitors cumulative_orders converters)}],
          [1, 1, 3, 2, 1], 'day 2 upsell: u3 new, U2 bought');
is($d2u->{cumulative_revenue}, 50, 'day 2 upsell: 30 + 20');
cmp_ok(abs($d2u->{revenue_per_visitor} - 50 / 3), '<', 1e-12,
       'day 2 upsell: 50 / 3 visitors');
is($d2c->{revenue}, 3, 'day 2 control: 5 minus the 2 refund');
is($d2c->{conversion_rate}, 1, 'day 2 control: both converted');
is($d2u->{conversion_rate}, 1 / 3, 'day 2 upsell: u1 of three');

# By hand: control revenues (10, 3), upsell (50, 0, 0). Welch / delta
# method relative effect and its CI at alpha 0.05.
my ($mc, $mt) = (6.5, 50 / 3);
my $vc = ((10 - $mc)**2 + (3 - $mc)**2) / 1 / 2;
my $vt = ((50 - $mt)**2 + 2 * $mt**2) / 2 / 3;
my $rel = ($mt - $mc) / $mc;
my $se = sqrt($vt / $mc**2 + $vc * $mt**2 / $mc**4);
cmp_ok(abs($d2u->{revenue_per_visitor_lift} - $rel), '<', 1e-12,
       'day 2 lift');
my ($lo, $hi) = @{ $d2u->{revenue_per_visitor_lift_ci} };
# Centred on the lift, but no lift is below -100% (docs/abstat.md): the
# low end, 2 * rel - hi here, is clipped to -1.
my $unclipped = 2 * $rel - $hi;
cmp_ok($unclipped, '<', -1, 'day 2: the symmetric CI would cross -100%');
is($lo, -1, 'day 2 lift CI clipped at -100%');
ok($hi - $rel > 1.96 * $se, 'day 2 CI wider than normal (t, few df)');

# The last point is the report itself.
my ($m) = grep { $_->{metric} eq 'revenue_per_visitor' }
          @{ $r->{experiments}[0]{metrics} };
cmp_ok(abs($d2u->{revenue_per_visitor_lift} - $m->{rel_effect}), '<', 1e-12,
       'last point lift = the report');
cmp_ok(abs($d2u->{revenue_per_visitor_lift_ci}[0] - $m->{rel_ci}[0]), '<',
       1e-9, 'last point CI = the report');

# Hours: each day's changes all fall in its first hour; a request alone
# (day 3) makes no point.
($rc, $r) = run_abstat('--bucket', 'hour', $log);
is(join(' ', map { $_->{time} } @{ $r->{experiments}[0]{trend} }),
   '2025-11-23T00:00:00Z 2025-11-23T00:00:00Z 2025-11-24T00:00:00Z '
   . '2025-11-24T00:00:00Z', '--bucket hour: only hours with changes');

# CSV trend table: the same numbers.
my ($crc, $csv) = run_abstat_raw('report', '-q', '--format', 'csv',
                                 '--table', 'trend', '--bucket', 'day', $log);
is($crc, 0, 'csv --table trend: exit 0');
my @rows = split /\n/, $csv;
like($rows[0], qr/^experiment,time,variant,new_visitors,orders,revenue,visitors,/,
     'csv trend header');
is(scalar @rows, 5, 'a row per point');
like($rows[3], qr/^cta,2025-11-24T00:00:00Z,control,0,1,3,2,2,2,13,6\.5,1,,/,
     'csv day 2 control row');

# Without --bucket, no trend.
($rc, $r) = run_abstat($log);
ok(!exists $r->{bucket} && !exists $r->{experiments}[0]{trend},
   'no trend without --bucket');

# --since / --until: the window bounds exposures only.
my ($rc2, $w) = run_abstat('--since', '2025-11-23T00:04:00Z', $log);
my %v = map { $_->{name} => $_ } @{ $w->{experiments}[0]{variants} };
is($v{control}{visitors}, 0, '--since drops exposures before it');
is($v{upsell}{visitors}, 3, '... and keeps those after (u1, u2, u3)');
my ($rc3, $w2) = run_abstat('--since', $t0 + 240, $log);
is_deeply($w2, $w, 'epoch seconds and ISO 8601 give the same window');
($rc3, $w2) = run_abstat('--since', '2025-11-23T01:04:00+01:00', $log);
is_deeply($w2, $w, 'a zone offset is applied');
($rc, $w) = run_abstat('--until', '2025-11-24', $log);
%v = map { $_->{name} => $_ } @{ $w->{experiments}[0]{variants} };
is($v{upsell}{visitors}, 2, '--until drops exposures at or after it (u3)');
is($v{upsell}{orders}, 2, '... but later purchases of those in still count');

for my $bad (['--bucket', 'week'], ['--since', 'yesterday'],
             ['--until', '2025-13-01'], ['--table', 'pie'],
             ['--table', 'trend', '--format', 'csv'],
             ['--table', 'trend', '--bucket', 'day', '--format', 'json'])
{
    my ($brc, $o, $err) = run_abstat_raw('report', @$bad, $log);
    is($brc, 2, "@$bad: usage error");
    is($o, '', '... nothing on stdout');
}

done_testing();

# abstat's command line: help, version, usage errors, exit codes and the
# text and csv formats.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use AbstatTest qw(run_abstat_raw);

my $dir = tempdir(CLEANUP => 1);
my $log = "$dir/ab.log";
open my $fh, '>', $log or die;
for my $i (1 .. 40) {
    my $v = $i % 2 ? 'control' : 'upsell';
    my $u = sprintf 'visitor%09d', $i;
    print $fh qq({"time":"$i.000","uid":"$u","exposures":"cta:$v","status":"200","request_time":"0.050"}\n);
    print $fh qq({"time":"$i.100","uid":"$u","exposures":"","events":"add_to_cart,purchase;order=O$i;revenue=$i.50"}\n)
        if $i % 3 == 0;
}
print $fh "garbage\n";
close $fh;

my ($rc, $out, $err);

for my $help (['--help'], ['report', '--help'], ['-h']) {
    ($rc, $out, $err) = run_abstat_raw(@$help);
    is($rc, 0, "@$help: exit 0");
    like($out, qr/^Usage: abstat report/, "@$help: usage on stdout");
    is($err, '', "@$help: nothing on stderr");
}

($rc, $out) = run_abstat_raw('--version');
is($rc, 0, '--version: exit 0');
like($out, qr/^abstat \d+\.\d+\.\d+$/, '--version prints the version');

my @usage = (
    [],
    ['frobnicate'],
    ['report', '--format', 'xml', $log],
    ['report', '--alpha', '1.5', $log],
    ['report', '--alpha', 'x', $log],
    ['report', '--cap-revenue', '0', $log],
    ['report', '--weights', 'cta', $log],
    ['report', '--weights', 'cta=control:50%,upsell:40%', $log],
    ['report', '--weights', 'cta=control:50%,upsell:1', $log],
    ['report', '--experiment', 'bad-name', $log],
    ['report', '--nginx-conf', "$dir/none.conf", $log],
    ['report', '--no-such-option', $log],
);
for my $args (@usage) {
    ($rc, $out, $err) = run_abstat_raw(@$args);
    is($rc, 2, "'@$args': exit 2");
    is($out, '', "'@$args': nothing on stdout");
    isnt($err, '', "'@$args': a message on stderr");
}

($rc, $out, $err) = run_abstat_raw('report', $log);
is($rc, 0, 'text: exit 0');
like($out, qr/^Input: 1 file\(s\), \d+ line\(s\), 1 bad/m, 'text: input summary');
like($out, qr/^Experiment cta: baseline control \(control\)$/m, 'text: experiment');
like($out, qr/^SRM: expected split from equal \(no --weights or --nginx-conf/m,
     'text: says the split is assumed equal');
like($out, qr/^\s+revenue_per_visitor\s+upsell\s/m, 'text: metric rows');
like($out, qr/^\s+error_rate \(guardrail\)/m, 'text: guardrails marked');
like($err, qr/ab\.log:\d+: bad line/, 'bad line sampled on stderr');

# Columns line up: every row of a metrics table (primary, power,
# secondary, guardrails) has its header's width.
my @tables = grep { /^  metric / }
             map { join "\n", grep { /^  / } split /\n/ } split /\n\n/, $out;
cmp_ok(scalar @tables, '>=', 4, 'text: the metric tables by role');
my @ragged = grep { my %w = map { length($_) => 1 } split /\n/; keys %w > 1 }
             @tables;
is(scalar @ragged, 0, 'text: aligned table rows') or diag @ragged;

($rc, $out) = run_abstat_raw('report', '--format', 'csv', '-q', $log);
is($rc, 0, 'csv: exit 0');
my @lines = split /\n/, $out;
like($lines[0], qr/^experiment,baseline,metric,variant,guardrail,value,/, 'csv: header');
my $ncol = () = $lines[0] =~ /,/g;
is(scalar(grep { (() = /,/g) != $ncol } @lines), 0, 'csv: same column count everywhere');
ok(scalar(grep { /^cta,control,conversion_rate,upsell,0,0\.[0-9]+,/ } @lines),
   'csv: full-precision numbers');

# issue 12: a directory given as --state is named as one, not taken for
# a foreign file, and is left alone
{
    my $sdir = "$dir/state.d";
    mkdir $sdir or die "$sdir: $!";
    ($rc, $out, $err) = run_abstat_raw('report', '-q', '--state', $sdir, $log);
    isnt($rc, 0, '--state DIR: fails');
    like($err, qr/\Q$sdir\E: is a directory/, '--state DIR: "is a directory"');
    unlike($err, qr/not an abstat state file/, '--state DIR: not "foreign"');
    ok(-d $sdir, '--state DIR: still a directory');
}

done_testing();

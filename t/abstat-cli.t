# abstat's command line: help, version, usage errors, exit codes and the
# text and csv formats.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use AbstatTest qw(run_abstat run_abstat_raw);

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

# --help wins wherever it stands, before any other option is judged:
# after a bad value, an unknown option, a file, or before the command
for my $help (['--help'], ['report', '--help'], ['-h'], ['--help', 'report'],
              ['report', '--since', 'x', '--help'],
              ['report', '--no-such-option', '--help'],
              ['report', '-qh'], ['report', $log, '--help'],
              ['-q', '--help'])
{
    ($rc, $out, $err) = run_abstat_raw(@$help);
    is($rc, 0, "@$help: exit 0");
    like($out, qr/^Usage: abstat report/, "@$help: usage on stdout");
    is($err, '', "@$help: nothing on stderr");
}
for my $help (['state', '--help'], ['state', 'prune', '--help'],
              ['state', 'prune', '--since', 'x', '-h'])
{
    ($rc, $out, $err) = run_abstat_raw(@$help);
    is($rc, 0, "@$help: exit 0");
    like($out, qr/^Usage: abstat state prune/, "@$help: its usage on stdout");
    is($err, '', "@$help: nothing on stderr");
}
# the usage is short and names every long option, each one the man page
# (the option reference) describes, and no other
{
    my (undef, $usage) = run_abstat_raw('--help');
    my $man = AbstatTest::slurp('abstat/abstat.1');
    $man =~ s/\\-/-/g;
    my %in_man = map { $_ => 1 } $man =~ /(?<![a-z-])--([a-z][a-z-]*[a-z])/g;
    my %in_usage = map { $_ => 1 } $usage =~ /--([a-z][a-z-]*[a-z])/g;
    is_deeply([sort keys %in_usage], [sort keys %in_man],
              'the usage names the options of abstat(1), all of them');
    cmp_ok(scalar(() = $usage =~ /\n/g), '<=', 30, 'the usage is short');
    like($usage, qr/man abstat/, '... and points to the man page');
}

# a value that looks like help is a value, and after -- a file name
($rc, $out, $err) = run_abstat_raw('report', '--experiment', '-h', $log);
is($rc, 2, "'--experiment -h': exit 2");
like($err, qr/bad experiment name '-h'/, "'--experiment -h': a bad name");
($rc, $out, $err) = run_abstat_raw('report', '--max-bad', '2', $log, '--',
                                 '--help');
is($rc, 1, "'-- --help': a file it cannot read: exit 1");
like($err, qr/--help: No such file/, "'-- --help': said so");

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

# one bad line in 54 is over the default --max-bad of 1%
($rc, $out, $err) = run_abstat_raw('report', '--max-bad', '2', $log);
is($rc, 0, 'text: exit 0');
like($out, qr/^Input: 1 file\(s\), \d+ line\(s\), 1 bad/m, 'text: input summary');
like($out, qr/^Experiment cta: baseline control \(control\)$/m, 'text: experiment');
like($out, qr/^SRM: expected split from equal \(no --weights or --nginx-conf/m,
     'text: says the split is assumed equal');
# 80 columns: a heading per metric, a row per variant
like($out, qr/^  revenue_per_visitor\n    control +[0-9.]+\n    upsell +[0-9.]+ +[-+][0-9.]+% +\[/m,
     'text: metric rows under their metric');
like($out, qr/^  error_rate \(guardrail\)$/m, 'text: guardrails marked');
like($out, qr/^  mean_latency in s \(guardrail\)$/m, 'text: latency has its unit');
like($out, qr/^Data: log lines from 1970-01-01T00:00:01Z to 1970-01-01T00:00:40Z; report\s+generated \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/m,
     'text: the data\'s time range and when it was generated');
like($err, qr/ab\.log:\d+: bad line/, 'bad line sampled on stderr');
my @long = grep { length > 80 } split /\n/, $out;
is_deeply(\@long, [], 'text: no line over 80 columns');
is(scalar(() = $out =~ / +$/mg), 0, 'text: no trailing spaces');

# --width 0: every comparison on one row, the columns aligned: every
# row of a metrics table (primary, power, secondary, guardrails) has its
# header's width
($rc, $out, $err) = run_abstat_raw('report', '--max-bad', '2', '--width', '0',
                                   $log);
is($rc, 0, 'text --width 0: exit 0');
like($out, qr/^\s+revenue_per_visitor\s+upsell\s/m, 'text --width 0: metric rows');
like($out, qr/^\s+error_rate \(guardrail\)\s+upsell/m, 'text --width 0: guardrails marked');
my @tables = grep { /^  metric / }
             map { join "\n", grep { /^  / } split /\n/ } split /\n\n/, $out;
cmp_ok(scalar @tables, '>=', 4, 'text --width 0: the metric tables by role');
# trailing spaces trimmed: the star column makes a second width
my @ragged = grep { my %w = map { length($_) => 1 } split /\n/; keys %w > 2 }
             @tables;
is(scalar @ragged, 0, 'text --width 0: aligned table rows') or diag @ragged;
my @rows = grep { /^\s+(metric|\S+_\S+|event:\S+)\s/ } split /\n/, $out;
cmp_ok((sort { $b <=> $a } map { length } @rows)[0], '>', 120,
       'text --width 0: wider than 80 columns');
is(scalar(() = $out =~ / +$/mg), 0, 'text --width 0: no trailing spaces');

# a narrow --width splits the variants table into panels, keys repeated
($rc, $out) = run_abstat_raw('report', '-q', '--max-bad', '2', '--width', '40',
                             $log);
my @heads = $out =~ /^  variant\b/mg;
cmp_ok(scalar @heads, '>=', 3, 'text --width 40: the variants table in panels');
like($out, qr/^  variant +(\S+ +)*revenue\b.*\n  control \(baseline\) +(\d+ +)*\d+\.\d\d\b/m,
     'text --width 40: revenue in a later panel, keyed by variant');
for my $w ('x', '10', '1.5') {
    ($rc) = run_abstat_raw('report', '--width', $w, $log);
    is($rc, 2, "--width $w: usage error");
}

($rc, $out) = run_abstat_raw('report', '--format', 'csv', '-q', '--max-bad', '2',
                             $log);
is($rc, 0, 'csv: exit 0');
my @lines = split /\n/, $out;
like($lines[0], qr/^experiment,baseline,metric,variant,guardrail,value,/, 'csv: header');
my $ncol = () = $lines[0] =~ /,/g;
is(scalar(grep { (() = /,/g) != $ncol } @lines), 0, 'csv: same column count everywhere');
ok(scalar(grep { /^cta,control,conversion_rate,upsell,0,0\.[0-9]+,/ } @lines),
   'csv: full-precision numbers');

# csv: the verdict columns are the JSON report's verdict numbers
for my $mode ('--no-sequential', '--sequential') {
    my @g = ('-e', 'checkout_cta', 't/data/abstat/gen/ab.log.1',
             't/data/abstat/gen/ab.log');
    my (undef, $csv) = run_abstat_raw('report', '--format', 'csv', '-q',
                                      $mode, @g);
    my ($head, @rows) = split /\n/, $csv;
    my @col = split /,/, $head;
    my (undef, $j) = run_abstat($mode, @g);
    my %row = map { ("$_->{metric} $_->{variant}" => $_) }
              @{ $j->{experiments}[0]{metrics} };
    my ($bad, %verdicts) = (0);
    for my $r (@rows) {
        my %c;
        @c{@col} = split /,/, $r, -1;
        my $m = $row{"$c{metric} $c{variant}"} or do { $bad++; next };
        my $seq = $mode eq '--sequential';
        my $want = $m->{role} eq 'guardrail'
            ? ($seq ? $m->{harm}{sequential_p_value} : $m->{harm}{p_value})
            : $m->{role} eq 'primary'
            ? ($seq ? $m->{sequential}{p_value_adjusted}
                    : $m->{p_value_adjusted})
            : undef;
        $bad++ if defined $want ? abs($c{verdict_p_value} - $want)
                                  > 1e-12 + 1e-9 * $want
                                : $c{verdict_p_value} ne '';
        $bad++ if ($c{cuped_rel_effect} eq '') != !($m->{cuped}
                                                    && defined $m->{cuped}{rel_effect});
        $bad++ if $seq != ($c{sequential_rel_ci_low} ne '');
        $verdicts{$c{verdict}}++;
    }
    is($bad, 0, "csv $mode: verdict, CUPED and sequential columns as in JSON");
    ok($verdicts{regressed} && $verdicts{held} && $verdicts{''},
       "csv $mode: " . join ', ', map { "$_ $verdicts{$_}" } sort keys %verdicts);
}

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

# abstat map (docs/fleet.md): logs written to shard files, and abstat
# report over the shard files giving the report of the logs, for P in
# {1, 2, 7, 64} and several assignments of files to map tasks, over logs
# with rotations, gzip, duplicate orders across files, refunds in the
# back-office file, multi-variant visitors and bad lines
# (scripts/gen-abstat-logs); with --by, --bucket, --cap-revenue; the
# audit over a fleet's logs, one map task per node
# (scripts/gen-audit-log). Then map --state, and the errors.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use List::Util qw(shuffle);
use Test::More;
use AbstatTest qw(run_abstat_raw compare_json);

my $dir = tempdir(CLEANUP => 1);
my $gen = "$dir/gen";
system('scripts/gen-abstat-logs', $gen, '--seed', '11', '--segments',
       '--days', '3') == 0 or BAIL_OUT('gen-abstat-logs failed');
my @logs = map { "$gen/$_" } split ' ', AbstatTest::slurp("$gen/FILES");
my $events = "$gen/backoffice.jsonl";

my $task_n = 0;

# Maps each group of inputs as one task into a new directory; returns
# the shard files, sorted (as a shell glob gives them).
sub map_tasks {
    my ($p, $groups, @opts) = @_;
    my $out = "$dir/out" . ++$task_n;
    mkdir $out or die "$out: $!";
    for my $g (@$groups) {
        my @files = map { $_ eq $events ? ('--events', $_) : $_ } @$g;
        my ($rc, undef, $err) = run_abstat_raw('map', '-q', '--shards', $p,
                                               '--output', $out, @opts,
                                               @files);
        is($rc, 0, "map P=$p of @{[scalar @$g]} file(s)") or diag $err;
    }
    opendir my $dh, $out or die;
    return map { "$out/$_" } sort grep { !/^\./ } readdir $dh;
}

sub report {
    my @args = @_;
    my ($rc, $out, $err) = run_abstat_raw('report', '-q', @args);
    is($rc, 0, 'report exits 0') or diag $err;
    return $out;
}

# The shards' report against the logs': the same numbers (JSON, within
# 1e-9, to say which differs), and the same bytes in both formats: the
# statistics are exact integer sums (msums.h), so the order the records
# are replayed in changes nothing.
sub same_report {
    my ($name, $shards, $logs, $opts) = @_;
    my $want = report('--format', 'json', @$opts, @$logs);
    my $got = report('--format', 'json', @$opts, @$shards);
    my @d = compare_json(JSON::PP->new->decode($got),
                         JSON::PP->new->decode($want), '');
    is(scalar @d, 0, "$name: the numbers of the logs' report") or diag
        join("\n", @d[0 .. ($#d < 9 ? $#d : 9)]);
    my $wtext = report('--format', 'text', @$opts, @$logs);
    my $gtext = report('--format', 'text', @$opts, @$shards);
    ok($got eq $want, "$name: JSON byte-identical");
    ok($gtext eq $wtext, "$name: text byte-identical");
}

my @all = (@logs, $events);
srand 18;
for my $p (1, 2, 7, 64) {
    # one task per file, as a fleet's cron would run them
    my @shards = map_tasks($p, [map { [$_] } @all]);
    is(scalar @shards, 2 * $p * @all, "P=$p: 2 x P files per task");
    same_report("P=$p, a task per file", \@shards, [@logs, '--events',
                $events], []);

    # two tasks over a random split of the files
    my @mixed = shuffle @all;
    my $cut = 1 + int rand(@mixed - 1);
    @shards = map_tasks($p, [[@mixed[0 .. $cut - 1]], [@mixed[$cut .. $#mixed]]]);
    same_report("P=$p, two tasks of random files", \@shards,
                [@logs, '--events', $events], []);
}

# The order round: abstat reduce --orders over each order shard's files
# (one round per shard, as a fleet runs them); the report over the
# visitor files and the resolved orders is the logs'.
{
    my @shards = map_tasks(7, [map { [$_] } @all]);
    my $r = "$dir/resolved";
    mkdir $r or die;
    for my $j (0 .. 6) {
        my @o = grep { /\.o000$j-of-0007\.abshard$/ } @shards;
        my ($rc, undef, $err) = run_abstat_raw('reduce', '--orders',
                                               '--output', $r, @o);
        is($rc, 0, "reduce --orders of order shard $j") or diag $err;
    }
    opendir my $dh, $r or die;
    my @res = map { "$r/$_" } sort grep { /\.r\d{4}-of-0007\.abshard$/ }
              readdir $dh;
    is(scalar @res, 7 * 7, 'each round: P files of resolved orders');
    same_report('P=7, visitor files and resolved orders',
                [(grep { /\.v\d{4}-of/ } @shards), @res],
                [@logs, '--events', $events], []);

    my ($v) = grep { /\.v0000-of/ } @shards;
    my ($rc, undef, $err) = run_abstat_raw('reduce', '--orders', '--output',
                                           $r, $v);
    is($rc, 1, 'reduce of a visitor file: exit 1');
    like($err, qr/\Q$v\E: not an order shard file/, '... said');
    my @two = (map_tasks(2, [[$logs[0]]]))[0];
    my ($o7) = grep { /\.o0000-of-0007/ } @shards;
    ($rc, undef, $err) = run_abstat_raw('reduce', '--orders', '--output', $r,
                                        $o7, @two);
    is($rc, 2, 'order files of another P: exit 2');
    ($rc, undef, $err) = run_abstat_raw('reduce', '--output', "$r/p",
                                        $o7);
    is($rc, 1, 'the visitor round of an order shard: exit 1');
    like($err, qr/\Q$o7\E: an order shard/, '... naming it');
    ($rc, undef, $err) = run_abstat_raw('reduce', '--orders', '--output', $r,
                                        '--by', 'device', $o7);
    is($rc, 2, 'reduce with an option of report: exit 2');
}

# Logs and shard files mixed among report's inputs.
{
    my @shards = map_tasks(2, [[@logs[2 .. $#logs]]]);
    same_report('logs and shard files mixed',
                [@logs[0, 1], @shards, '--events', $events],
                [@logs, '--events', $events], []);
}

# One task over the files in report's order, P=1: the records come back
# in the order of the lines, so even floating-point sums agree.
{
    my @shards = map_tasks(1, [[@logs, $events]]);
    same_report('P=1, one task', \@shards, [@logs, '--events', $events], []);
}

# --by (map parses the same dimensions), --bucket, --cap-revenue.
{
    my @by = ('--by', 'device', '--by', 'field:country');
    my @shards = map_tasks(7, [map { [$_] } @all], @by);
    same_report('P=7, --by device --by field:country', \@shards,
                [@logs, '--events', $events], [@by]);
    same_report('P=7, --bucket day --cap-revenue 99', \@shards,
                [@logs, '--events', $events],
                [@by, '--bucket', 'day', '--cap-revenue', '99']);

    my ($rc, undef, $err) = run_abstat_raw('report', '-q', '--by', 'device',
                                           @shards);
    is($rc, 1, 'a report with another --by than the map: exit 1');
    # the visitor files say so; order files carry no segment text
    my ($vfile) = grep { /\.v\d{4}-of-/ } @shards;
    like($err, qr/\Q$vfile\E: mapped with --by 'device,field:country'/,
         'naming the file and both --by');
    my ($ofile) = grep { /\.o\d{4}-of-/ } @shards;
    unlike($err, qr/\Q$ofile\E: mapped/, 'not an order file');
}

# The audit over a fleet: one log per node, one map task per node.
{
    my $a = "$dir/audit";
    mkdir $a;
    system("scripts/gen-audit-log $a --seed 7 >/dev/null") == 0
        or BAIL_OUT('gen-audit-log failed');
    my %fh;
    open my $in, '<', "$a/ab.log" or die;
    while (my $l = <$in>) {
        my ($node) = $l =~ /"node":"([^"]*)"/;
        $node //= 'none';
        open $fh{$node}, '>', "$a/$node.log" or die unless $fh{$node};
        print { $fh{$node} } $l;
    }
    close $_ for values %fh;
    my @nodes = map { "$a/$_.log" } sort keys %fh;
    ok(@nodes >= 3, scalar(@nodes) . ' node logs');
    my @conf = ('--nginx-conf', "$a/nginx.conf");
    my @shards = map_tasks(7, [["$a/ab.log"]]);
    same_report('P=7, audit, one task', \@shards, ["$a/ab.log"], \@conf);

    # A node's visitors are those whose earliest exposure was there,
    # whatever the order: a task per node, and the node logs in the
    # other order.
    @shards = map_tasks(7, [map { [$_] } @nodes]);
    same_report('P=7, audit, a task per node', \@shards, \@nodes, \@conf);
    my ($w, $g) = map { JSON::PP->new->decode(report('--format', 'json',
                                                      @conf, @$_)) }
                  \@nodes, [reverse @nodes];
    my @d = compare_json($g, $w, '');
    is(scalar @d, 0, 'the node logs in the other order: the same report')
        or diag join("\n", @d[0 .. ($#d < 9 ? $#d : 9)]);
}

# map --state: an hourly cron over a log that grows and rotates maps
# only what is new; all the shards of all runs give the full report.
{
    my $s = "$dir/inc";
    mkdir $s;
    mkdir "$s/out";
    open my $src, '<', $logs[-1] or die;
    my @lines = <$src>;
    close $src;
    my $log = "$s/ab.log";
    my $n = 0;
    my $write = sub {
        my ($count) = @_;
        open my $fh, '>>', $log or die;
        print $fh @lines[$n .. $n + $count - 1];
        $n += $count;
        close $fh;
    };
    my $run = sub {
        my ($rc, undef, $err) = run_abstat_raw('map', '-q', '--shards', '3',
                                               '--output', "$s/out", '--state',
                                               "$s/map.state", @_);
        is($rc, 0, 'map --state exits 0') or diag $err;
    };
    my $third = int(@lines / 3);
    $write->($third);
    $run->($log);
    $write->($third);
    $run->($log);
    # rotated and compressed, a new log begun
    rename $log, "$log.1" or die;
    system('gzip', '-n', "$log.1") == 0 or die;
    $write->(@lines - $n);
    $run->($log, "$log.1.gz");
    $run->($log, "$log.1.gz");
    opendir my $dh, "$s/out" or die;
    my @shards = map { "$s/out/$_" } sort grep { !/^\./ } readdir $dh;
    is(scalar @shards, 4 * 2 * 3, 'four runs, each its own 2 x 3 files');
    my $want = report('--format', 'json', $logs[-1]);
    my $got = report('--format', 'json', @shards);
    my ($w, $g) = map { JSON::PP->new->decode($_) } $want, $got;
    # the same lines under other names and numbers: the lines after the
    # rotation are numbered from 1 in the new log
    delete $_->{input}{bad_samples} for $w, $g;
    $g->{input}{files} = $w->{input}{files} if $g->{input}{files} == 2;
    my @d = compare_json($g, $w, '');
    is(scalar @d, 0, 'the runs\' shards: the report of the whole log')
        or diag join("\n", @d[0 .. ($#d < 9 ? $#d : 9)]);
    ok(-s "$s/map.state" < 4096, 'the map state holds read positions only');

    my ($rc, undef, $err) = run_abstat_raw('report', '-q', '--state',
                                           "$s/map.state", $log);
    is($rc, 5, 'report refuses the state file of map (exit 5)');
    ($rc, undef, $err) = run_abstat_raw('report', '-q', '--state',
                                        "$dir/r.state", $shards[0]);
    is($rc, 2, 'report --state over a shard file: exit 2');
}

# Damaged, truncated and foreign shard files: a clear error naming the
# file, exit 1, nothing of the file counted, never a crash.
{
    my @shards = map_tasks(2, [[$logs[0]]]);
    my ($v0) = grep { /\.v0000-of-0002\.abshard$/ } @shards;
    my $bytes = AbstatTest::slurp($v0);
    my %bad = (
        truncated => substr($bytes, 0, length($bytes) - 100),
        damaged   => do { my $b = $bytes; substr($b, 40, 1) ^= "\x01"; $b },
        version   => do { my $b = $bytes; substr($b, 8, 1) = "\x09"; $b },
        short     => substr($bytes, 0, 10),
    );
    my $good = report('--format', 'json', grep { $_ ne $v0 } @shards);
    for my $kind (sort keys %bad) {
        my $f = "$dir/$kind.abshard";
        open my $fh, '>', $f or die;
        print $fh $bad{$kind};
        close $fh;
        my ($rc, $out, $err) = run_abstat_raw('report', '-q', '--format',
                                              'json', $f,
                                              grep { $_ ne $v0 } @shards);
        is($rc, 1, "$kind shard: exit 1");
        like($err, qr/\Q$f\E: (shard file|not a shard)/, "$kind: names it");
        like($err, qr/version 9 is not supported/, 'version: says which')
            if $kind eq 'version';
        is($out, $good, "$kind: the report of the other files");
    }
}

# Usage, input and --max-bad errors as report's; --help on stdout.
{
    my $out = "$dir/err";
    mkdir $out;
    my @m = ('map', '--shards', '2', '--output', $out);
    my ($rc, $o, $e) = run_abstat_raw('map', '--help');
    is($rc, 0, 'map --help: exit 0');
    like($o, qr/^Usage: abstat map --shards P --output DIR/, 'on stdout');
    ($rc, $o, $e) = run_abstat_raw('map', '--output', $out, $logs[0]);
    is($rc, 2, 'no --shards: exit 2');
    ($rc, $o, $e) = run_abstat_raw(@m, '--format', 'json', $logs[0]);
    is($rc, 2, 'a report option: exit 2');
    like($e, qr/map does not take --format/, 'said');
    ($rc, $o, $e) = run_abstat_raw('map', '--shards', '0', '--output', $out,
                                   $logs[0]);
    is($rc, 2, '--shards 0: exit 2');
    like($e, qr/Try 'abstat map --help'/, "... pointing to map's help");
    ($rc, $o, $e) = run_abstat_raw(@m, '--tag', '../x', $logs[0]);
    is($rc, 2, 'a tag that is not a file name: exit 2');
    ($rc, $o, $e) = run_abstat_raw('map', '--shards', '2', '--output',
                                   "$dir/none", $logs[0]);
    is($rc, 2, 'no output directory: exit 2');
    ($rc, $o, $e) = run_abstat_raw(@m, '-q', '--tag', 'gone', "$dir/missing",
                                   $logs[0]);
    is($rc, 1, 'an unreadable input: exit 1');
    ok(-e "$out/gone.v0000-of-0002.abshard", 'and the rest is mapped');
    ($rc, $o, $e) = run_abstat_raw(@m, '-q', '--tag', 'mut', "$gen/mutated.log");
    is($rc, 6, 'bad lines over --max-bad: exit 6');
    opendir my $dh, $out or die;
    my @tmp = grep { /^\./ && !/^\.\.?$/ } readdir $dh;
    is(scalar @tmp, 0, 'no temporary file left behind');
}

done_testing;

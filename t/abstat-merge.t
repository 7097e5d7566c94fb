# The visitor round and merge (docs/fleet.md): logs mapped into shards
# (a map task per file), orders resolved per order shard (reduce
# --orders), groups of visitor shards reduced into partial sums (abstat
# reduce), the partials merged: abstat merge prints the bytes abstat
# report prints over the logs, for P in {1, 2, 7, 64}, a reduce per
# shard or random groups of shards, in JSON, text, CSV, HTML and
# Prometheus text, with --cap-revenue, --bucket, --sequential, and the
# audit of a fleet's node logs, --by segments pooled by --by-top at
# merge, --config-history's SRM test; the logs have rotations, gzip, duplicate
# orders across files, refunds in a back-office file (another task),
# multi-variant visitors and bad lines. Then the errors: damaged,
# truncated and foreign partials, options merge cannot take, partials
# reduced with another CUPED lookback, --by or --config-history.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use List::Util qw(shuffle);
use Test::More;
use AbstatTest qw(run_abstat_raw);

my $dir = tempdir(CLEANUP => 1);
my $gen = "$dir/gen";
system('scripts/gen-abstat-logs', $gen, '--seed', '12', '--days', '3') == 0
    or BAIL_OUT('gen-abstat-logs failed');
my @logs = map { "$gen/$_" } split ' ', AbstatTest::slurp("$gen/FILES");
my $events = "$gen/backoffice.jsonl";
$ENV{SOURCE_DATE_EPOCH} = 1764806400;

my $run = 0;
my @map_opts;       # what map must read too (--by: the segments' text)

sub ok_run {
    my ($what, @cmd) = @_;
    my ($rc, $out, $err) = run_abstat_raw(@cmd);
    is($rc, 0, $what) or diag $err;
    return $out;
}

sub files_in {
    my ($d, $re) = @_;
    opendir my $dh, $d or die "$d: $!";
    return map { "$d/$_" } sort grep { /$re/ } readdir $dh;
}

# The fleet's pipeline over @inputs (a map task each; the events file a
# task of its own) with P shards, visitor shards reduced in the groups
# of $groups (a list of lists of shard numbers): the partial files.
sub fleet {
    my ($p, $groups, $inputs, @reduce_opts) = @_;
    my $w = "$dir/run" . ++$run;
    mkdir $_ or die "$_: $!" for $w, "$w/s", "$w/o", "$w/p";
    my $t = 0;
    for my $f (@$inputs) {
        my @in = $f eq $events ? ('--events', $f) : ($f);
        ok_run("map P=$p", 'map', '-q', @map_opts, '--shards', $p,
               '--output', "$w/s", '--tag', 't' . $t++, @in);
    }
    my $pp = sprintf '%04d', $p;
    for my $j (0 .. $p - 1) {
        my $jj = sprintf '%04d', $j;
        ok_run("orders of shard $j", 'reduce', '--orders', '--output',
               "$w/o", '--tag', "r$j",
               files_in("$w/s", qr/\.o$jj-of-$pp\.abshard$/));
    }
    my $g = 0;
    for my $grp (@$groups) {
        my $re = join '|', map { sprintf '%04d', $_ } @$grp;
        ok_run("reduce of shards @$grp", 'reduce', '-q', @reduce_opts,
               '--output', "$w/p/g" . $g++ . '.abpart',
               files_in("$w/s", qr/\.v(?:$re)-of-$pp\.abshard$/),
               files_in("$w/o", qr/\.r(?:$re)-of-$pp\.abshard$/));
    }
    return files_in("$w/p", qr/\.abpart$/);
}

sub same {
    my ($name, $partials, $inputs, @opts) = @_;
    my @report_in = map { $_ eq $events ? ('--events', $_) : ($_) } @$inputs;
    my $want = ok_run('report', 'report', '-q', @opts, @report_in);
    # --by is reduce's, which the partials keep
    my @merge_opts;
    for (my $i = 0; $i < @opts; $i++) {
        if ($opts[$i] eq '--by') {
            $i++;
            next;
        }
        push @merge_opts, $opts[$i];
    }
    my ($rc, $got, $err) = run_abstat_raw('merge', @merge_opts, @$partials);
    is($rc, 0, "$name: merge exits 0") or diag $err;
    ok(defined $got && $got eq $want, "$name: byte-identical to report")
        or diag(substr($got // '', 0, 300));
}

my @all = (@logs, $events);
srand 18;
for my $p (1, 2, 7, 64) {
    # a reduce per visitor shard
    my @per = fleet($p, [map { [$_] } 0 .. $p - 1], \@all);
    is(scalar @per, $p, "P=$p: a partial per shard");
    same("P=$p, a reduce per shard, JSON", \@per, \@all, '--format', 'json');
    same("P=$p, a reduce per shard, text", \@per, \@all, '--format', 'text');

    # random groups of shards, the files of the inputs shuffled
    my @sh = shuffle(0 .. $p - 1);
    my @groups;
    while (@sh) {
        push @groups, [splice @sh, 0, 1 + int rand 3];
    }
    my @grp = fleet($p, \@groups, [shuffle @all]);
    same("P=$p, " . scalar(@groups) . ' random groups, JSON', \@grp, \@all,
         '--format', 'json');
}

# every format and the options that read the whole distribution
{
    my @parts = fleet(7, [[0, 1, 2], [3], [4, 5, 6]], \@all);
    same("P=7, $_->[0]", \@parts, \@all, @{$_->[1]}) for
        ['CSV', ['--format', 'csv']],
        ['HTML (day buckets)', ['--format', 'html']],
        ['Prometheus text', ['--format', 'prom']],
        ['--cap-revenue 95', ['--format', 'json', '--cap-revenue', '95']],
        ['--bucket hour', ['--format', 'json', '--bucket', 'hour']],
        ['--sequential, --baseline', ['--format', 'text', '--sequential',
                                      '--baseline', 'control']];

    # the partials in another order, and merged twice over
    same('P=7, partials given in reverse', [reverse @parts], \@all,
         '--format', 'json');

    # damaged, truncated, foreign
    my $bad = "$dir/bad.abpart";
    my $bytes = AbstatTest::slurp($parts[0]);
    for my $case (['damaged', substr($bytes, 0, 100) . 'X'
                              . substr($bytes, 101)],
                  ['truncated', substr($bytes, 0, length($bytes) - 16)],
                  ['foreign', "not a partial file at all, no.\n"])
    {
        open my $fh, '>', $bad or die;
        print $fh $case->[1];
        close $fh;
        my ($rc, undef, $err) = run_abstat_raw('merge', $parts[1], $bad);
        is($rc, 1, "a $case->[0] partial: exit 1");
        like($err, qr/\Q$bad\E: .*(damaged|truncated|not a partial)/,
             "... naming the file ($case->[0])");
    }

    my ($rc, undef, $err) = run_abstat_raw('merge', '--since', '2026-01-01',
                                           @parts);
    is($rc, 2, 'merge --since: a usage error');
    like($err, qr/give --since to abstat reduce/, '... saying where it goes');
    ($rc, undef, $err) = run_abstat_raw('merge');
    is($rc, 2, 'merge without partials: exit 2');
    ($rc, undef, $err) = run_abstat_raw('merge', '--by', 'device', @parts);
    is($rc, 2, 'merge --by: a usage error');
    like($err, qr/give --by to abstat reduce/, '... saying where it goes');
    ($rc, undef, $err) = run_abstat_raw('reduce', '--by', 'device',
                                        '--by-top', '3', '--output', $bad,
                                        $parts[0]);
    is($rc, 2, 'reduce --by-top: exit 2 (it pools at merge)');
    like($err, qr/--by-top .*abstat merge/, '... saying where it goes');
    ($rc, undef, $err) = run_abstat_raw('reduce', $parts[0]);
    is($rc, 2, 'reduce without --output: exit 2');

    # a partial reduced with another lookback
    my @other = fleet(7, [[0, 1, 2, 3, 4, 5, 6]], \@all, '--no-cuped');
    ($rc, undef, $err) = run_abstat_raw('merge', $parts[0], $other[0]);
    is($rc, 1, 'partials of two CUPED lookbacks: exit 1');
    like($err, qr/another CUPED lookback/, '... saying so');
    my $want = ok_run('report --no-cuped', 'report', '-q', '--format', 'json',
                      '--no-cuped', @logs, '--events', $events);
    my $got = ok_run('merge of --no-cuped partials', 'merge', '--format',
                     'json', @other);
    ok($got eq $want, '--no-cuped at reduce: the report of --no-cuped');
}

# segments: map reads each dimension's text, reduce keeps every value a
# cell of its own, merge pools the least frequent field values into
# "other" by the visitors of all the partials (--by-top)
{
    @map_opts = ('--by', 'field:uri', '--by', 'device', '--by', 'day');
    my @by = @map_opts;
    for my $p (1, 7) {
        my @parts = fleet($p, [[0 .. $p - 1]], \@all, @by);
        @parts = fleet($p, [map { [$_] } 0 .. $p - 1], \@all, @by) if $p > 1;
        same("--by, P=$p, JSON", \@parts, \@all, @by, '--format', 'json');
    }
    my @parts = fleet(7, [[0, 4], [1, 2, 3], [5, 6]], \@all, @by);
    same("--by, P=7, $_->[0]", \@parts, \@all, @by, @{$_->[1]}) for
        ['--by-top 1', ['--format', 'json', '--by-top', '1']],
        ['--by-top 2, --cap-revenue 95',
         ['--format', 'json', '--by-top', '2', '--cap-revenue', '95']],
        ['CSV segments table', ['--format', 'csv', '--table', 'segments',
                                '--by-top', '2']],
        ['text', ['--format', 'text']],
        ['HTML', ['--format', 'html']];

    # merge takes the dimensions from its partials; one set of them
    my ($rc, $want, $got, $err);
    ($rc, $want) = run_abstat_raw('report', '-q', '--format', 'json', @by,
                                  '--by-top', '1', @logs, '--events',
                                  $events);
    ($rc, $got, $err) = run_abstat_raw('merge', '--format', 'json',
                                       '--by-top', '1', @parts);
    ok($rc == 0 && $got eq $want, '--by given to reduce only: the same')
        or diag $err;
    like($want, qr/"dimension":\s*"field:uri"/, '... which has segments');
    @map_opts = ('--by', 'device');
    my @other = fleet(7, [[0 .. 6]], \@all, @map_opts);
    ($rc, undef, $err) = run_abstat_raw('merge', $parts[0], $other[0]);
    is($rc, 1, 'partials of two --by sets: exit 1');
    like($err, qr/\Q$other[0]\E: reduced with another --by/,
         '... naming the file');
    @map_opts = ();
}

# the audit over a fleet's node logs: reduce checks every exposure
# against --nginx-conf, merge reports it
{
    my $a = "$dir/audit";
    system("/usr/bin/python3 scripts/gen-audit-log $a >/dev/null") == 0
        or BAIL_OUT('gen-audit-log failed');
    my @conf = ('--nginx-conf', "$a/nginx.conf");
    my @parts = fleet(5, [[0, 3], [1, 2, 4]], ["$a/ab.log"], @conf);
    same('audit, P=5, two groups', \@parts, ["$a/ab.log"], @conf,
         '--format', 'json');

    # a configuration per node (--nginx-conf NODE=FILE): node-b pinned to
    # its own file all day, node-c given none; reduce audits each node's
    # exposures against its file, merge prints report's bytes
    my $pin = "$dir/pinned";
    system("/usr/bin/python3 scripts/gen-audit-log $pin --pinned node-b "
           . ">/dev/null") == 0 or BAIL_OUT('gen-audit-log --pinned failed');
    my @nodes = ('--nginx-conf', "node-a=$pin/nginx.conf",
                 '--nginx-conf', "node-b=$pin/node-b.conf");
    my @np = fleet(3, [[0, 2], [1]], ["$pin/ab.log"], @nodes);
    same('a configuration per node, P=3, JSON', \@np, ["$pin/ab.log"],
         @nodes, '--format', 'json');
    same('a configuration per node, P=3, text', \@np, ["$pin/ab.log"],
         @nodes, '--format', 'text');

    # --config-history: reduce counts each cell's entries under each
    # configuration (ranking's weights change half way), merge weighs
    # them; with segments too
    open my $in, '<', "$a/nginx.conf" or die;
    my $later = do { local $/; <$in> };
    close $in;
    $later =~ s/variant  a 2;/variant  a 1;/ or die 'no ranking weights';
    open my $out, '>', "$a/later.conf" or die;
    print $out $later;
    close $out;
    open $out, '>', "$a/history.tsv" or die;
    print $out "1764000000\tnginx.conf\n1764040000\tlater.conf\n";
    close $out;
    my @hist = ('--config-history', "$a/history.tsv");
    @map_opts = ('--by', 'field:uri');
    @parts = fleet(5, [[0, 3], [1, 2, 4]], ["$a/ab.log"], @hist, @map_opts);
    my ($rc, $got, $err) = run_abstat_raw('merge', '--format', 'json', @hist,
                                          @parts);
    is($rc, 0, '--config-history, --by: merge exits 0') or diag $err;
    like($got, qr/"weights_source":\s*"config-history",\s*"weight_changes":\s*1/,
         '... the SRM test of the history');
    same('--config-history, --by, P=5', \@parts, ["$a/ab.log"], @hist,
         @map_opts, '--format', 'json');
    same('--config-history, --by, P=5, text', \@parts, ["$a/ab.log"], @hist,
         @map_opts, '--format', 'text');
    ($rc, undef, $err) = run_abstat_raw('merge', '--format', 'json', @parts);
    is($rc, 1, 'partials of a history, merged without it: exit 1');
    like($err, qr/another --config-history/, '... saying so');
    my @plain = fleet(5, [[0 .. 4]], ["$a/ab.log"], @map_opts);
    ($rc, undef, $err) = run_abstat_raw('merge', @hist, @plain);
    is($rc, 1, 'partials without a history, merged with one: exit 1');
    like($err, qr/\Q$plain[0]\E: reduced with another --config-history/,
         '... naming the file');
    @map_opts = ();
    ($rc, undef, $err) = run_abstat_raw('reduce', '--state', "$a/st",
                                        '--output', "$a/x.abpart",
                                        "$a/ab.log");
    is($rc, 2, 'reduce --state: exit 2 (not kept in partials)');
}

done_testing();

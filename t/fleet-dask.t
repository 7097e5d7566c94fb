#!/usr/bin/perl
# scripts/abstat-dask (docs/fleet.md): abstat map, the order round, the
# visitor round (reduce into partials) on a Dask LocalCluster of two
# worker processes and merge on the client print the same bytes as
# abstat report on the same files, in JSON and text, with rotated and
# gzipped logs, a back-office events file, --cap-revenue, and a reading
# option (--since) that goes to reduce; with --by (segments in the
# partials, --by-top pooling them at merge) and --config-history (to
# reduce and merge both) and a configuration per node for the audit
# too; and still do when a
# worker process is killed (SIGKILL)
# in the middle of a task: Dask runs the task again elsewhere, and
# abstat's files are written whole (temporary file, rename), so the
# killed task's own abstat, left running, only replaces them with the
# same bytes. Usage errors exit 2; a glob matching nothing is an error.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp qw(tempdir);
use JSON::PP ();
use Time::Local ();
use Test::More;
use AbstatTest qw(run_abstat_raw);

chdir "$FindBin::Bin/.." or die "$!";
my $PYTHON = $ENV{TEST_AB_PYTHON} || '/usr/bin/python3';
plan skip_all => "$PYTHON has no dask.distributed (scripts/install-deps "
    . "--for test installs python3-distributed)"
    if system($PYTHON, '-c', 'import dask.distributed') != 0;

my $dir = tempdir(CLEANUP => 1);
my $gen = "$dir/gen";
system("scripts/gen-abstat-logs $gen --seed 18 --segments --gzip >/dev/null")
    == 0 or die "gen-abstat-logs failed";
my @logs = sort grep { !/backoffice/ } glob("$gen/ab.log*");
my $events = "$gen/backoffice.jsonl";
cmp_ok(scalar @logs, '>=', 4, 'rotated and gzipped logs');

$ENV{SOURCE_DATE_EPOCH} = 1764806400;   # the generation time, fixed
my $abstat = $ENV{ABSTAT} || 'build/abstat';

sub dask {
    my ($opts, @args) = @_;
    my $out = "$dir/dask.out";
    my $rc = system("$PYTHON scripts/abstat-dask @$opts --abstat $abstat "
                 . join(' ', map { "'$_'" } @args)
                 . " >$out 2>$dir/dask.err") >> 8;
    local $/;
    open my $fh, '<', $out or die "$!";
    my $o = <$fh>;
    open $fh, '<', "$dir/dask.err" or die "$!";
    return ($rc, $o, scalar <$fh>);
}

sub report {
    my ($rc, $o, $e) = run_abstat_raw('report', '-q', @_);
    is($rc, 0, 'abstat report exits 0') or diag $e;
    return $o;
}

# the same report, from a glob as a newcomer would give it
{
    my ($rc, $got, $err) = dask(['--local', '2'], "$gen/ab.log*", '--',
                                '-q', '--format', 'json');
    is($rc, 0, "--local 2 'ab.log*': exit 0") or diag $err;
    ok($got eq report('--format', 'json', @logs),
       "--local 2: the JSON of abstat report, byte for byte");
}

# events, --by, a cap, text, 7 shards
{
    my @by = ('--by', 'device', '--by', 'field:country');
    my ($rc, $got, $err) = dask(['--local', '2', '--shards', '7', '--events',
                                 $events, '--workdir', "$dir/w", '--keep',
                                 @by], @logs, '--', '-q', '--format', 'text',
                                '--cap-revenue', '95', '--by-top', '2');
    is($rc, 0, '--events, --by, --shards 7: exit 0') or diag $err;
    ok($got eq report('--format', 'text', '--cap-revenue', '95', @by,
                      '--by-top', '2', '--events', $events, @logs),
       '--events, --by, --by-top, --cap-revenue: the text of abstat report');
    my @parts = glob "$dir/w/partials/*.abpart";
    ok(@parts >= 2, '... from partials (' . scalar(@parts) . ')');
    like($got, qr/other/, '... with values pooled into "other"');
}

# a reading option goes to the visitor round, the rest to merge: the
# window starts a day after the first line
{
    my $first = JSON::PP->new->decode(report('--format', 'json', @logs))
        ->{input}{first_time};
    my ($y, $m, $d) = $first =~ /^(\d{4})-(\d\d)-(\d\d)/ or die $first;
    my $t0 = Time::Local::timegm(0, 0, 0, $d, $m - 1, $y);
    my $since = $t0 + 86400;
    my ($rc, $got, $err) = dask(['--local', '2', '--reduce-tasks', '3'],
                                @logs, '--', '-q', '--format', 'json',
                                '--since', $since, '--alpha', '0.1');
    is($rc, 0, '--since, --alpha, 3 reduce tasks: exit 0') or diag $err;
    my $want = report('--format', 'json', '--since', $since, '--alpha', '0.1',
                      @logs);
    isnt($want, report('--format', 'json', '--alpha', '0.1', @logs),
         '--since leaves out some exposures');
    ok($got eq $want,
       '--since to reduce, --alpha to merge: the JSON of abstat report');
}

# --config-history goes to reduce (entries per configuration) and to
# merge (their weights): search_rank's split changes half way
{
    for my $c (['early.conf', 2], ['late.conf', 1]) {
        open my $fh, '>', "$dir/$c->[0]" or die;
        print $fh "http {\n    ab_experiment search_rank {\n"
            . "        variant a $c->[1];\n        variant b 1;\n"
            . "        variant c 1;\n    }\n}\n";
        close $fh;
    }
    open my $fh, '>', "$dir/history.tsv" or die;
    print $fh "1763800000\tearly.conf\n1764000000\tlate.conf\n";
    close $fh;
    my @hist = ('--config-history', "$dir/history.tsv");
    my ($rc, $got, $err) = dask(['--local', '2', '--workdir', "$dir/wh",
                                 '--keep'], @logs, '--', '-q', '--format',
                                'json', @hist);
    is($rc, 0, '--config-history: exit 0') or diag $err;
    my $want = report('--format', 'json', @hist, @logs);
    like($want, qr/"weights_source":\s*"config-history"/,
         '... an SRM test of the history');
    ok($got eq $want, '--config-history: the JSON of abstat report');
    ok(scalar(() = glob "$dir/wh/partials/*.abpart") >= 2,
       '... from partials');
}

# a configuration per node: -c and --nginx-conf NODE=FILE go to reduce,
# which audits each node's exposures against its file, and to merge
{
    my $p = "$dir/pinned";
    system("$PYTHON scripts/gen-audit-log $p --pinned node-b >/dev/null") == 0
        or die 'gen-audit-log failed';
    my @conf = ('-c', "$p/nginx.conf", '--nginx-conf',
                "node-b=$p/node-b.conf");
    my ($rc, $got, $err) = dask(['--local', '2'], "$p/ab.log", '--', '-q',
                                '--format', 'json', @conf);
    is($rc, 0, 'a configuration per node: exit 0') or diag $err;
    my $want = report('--format', 'json', @conf, "$p/ab.log");
    like($want, qr/"mismatches":\s*[1-9]/, '... an audit that finds some');
    ok($got eq $want, 'a configuration per node: the JSON of abstat report');
}

# a worker killed mid-task
{
    local $ENV{KILL_WORKER_ONCE} = "$dir/killed";
    local $ENV{KILL_WORKER_ABSTAT} = $abstat;
    my $kill = 't/lib/kill-worker-once';
    my $out = "$dir/k.out";
    my $rc = system("$PYTHON scripts/abstat-dask --local 2 --abstat $kill "
                    . join(' ', @logs) . " -- -q --format json >$out "
                    . "2>$dir/k.err") >> 8;
    is($rc, 0, 'a worker killed: exit 0') or diag `cat $dir/k.err`;
    ok(-s "$dir/killed/pid", 'a worker process was killed mid-task');
    my $pid = `cat $dir/killed/pid`;
    chomp $pid;
    ok($pid =~ /^\d+$/ && !kill(0, $pid), "worker $pid is gone");
    ok(`cat $out` eq report('--format', 'json', @logs),
       'a worker killed: the JSON of abstat report, byte for byte');
}

# usage and input errors
{
    my ($rc, undef, $err) = dask([], @logs);
    is($rc, 2, 'neither --local nor --scheduler: exit 2');
    like($err, qr/--scheduler|--local/, '... saying what is missing');
    ($rc, undef, $err) = dask(['--scheduler', 'tcp://127.0.0.1:1'], @logs);
    is($rc, 2, '--scheduler without --workdir: exit 2');
    ($rc, undef, $err) = dask(['--local', '2'], "$dir/none-*.log");
    isnt($rc, 0, 'a glob matching nothing: an error');
    like($err, qr/none-\*\.log: no such file/, '... naming it');
}

done_testing();

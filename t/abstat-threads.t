#!/usr/bin/perl
# abstat reads and parses in worker threads (--threads N) while the main
# thread applies the lines in file order: every thread count must give
# the very report and the very stderr (bad-line samples in line order) of
# the single-threaded read, on inputs that cross many batches and carry
# everything unusual: bad lines, lines over the 1 MB limit, a line just
# under it, NUL bytes, gzip, stdin, events files and --state runs that
# stop before an unterminated last line.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use AbstatTest qw(run_abstat_raw);

my $BIN = $AbstatTest::BIN;
plan(skip_all => "$BIN is not built (make)") unless -x $BIN;

my $dir = tempdir(CLEANUP => 1);
my @THREADS = (1, 2, 3, 8);

sub put {
    my ($name, $content, $append) = @_;
    open my $fh, $append ? '>>:raw' : '>:raw', "$dir/$name" or die "$dir/$name: $!";
    print $fh $content;
    close $fh or die;
    return "$dir/$name";
}

sub slurp {
    my ($path) = @_;
    open my $fh, '<:raw', $path or die "$path: $!";
    local $/;
    return scalar <$fh>;
}

# 60,000 generated lines (about 15 batches) with hostile lines spread
# through them, so that they fall inside batches and at their edges.
my $gen = `perl scripts/bench/gen-log --lines 60000 --seed 11`;
die "gen-log failed" unless $? == 0 && length $gen > 1_000_000;
my @lines = split /\n/, $gen;
my $near = '{"time":"1795400000.000","uid":"' . ('ab' x 16)
    . '","exposures":"checkout_cta:control","ua":"' . ('x' x (1024 * 1024 - 200))
    . '"}';
my %hostile = (
    1      => 'not json at all',
    4095   => '{"time":"1795400001.000","uid":"u1","exposures":"bad pair"}',
    4096   => "{\"time\":\"1795400001.000\",\"uid\":\"u\0nul\"}",
    4097   => '{"time":"1795400002.000","uid":"' . ('ab' x 16)
              . '","exposures":"checkout_cta:upsell","status":"x"}',
    9000   => 'y' x (1024 * 1024 + 10),
    9001   => $near,
    20000  => 'z' x (3 * 1024 * 1024),
    33333  => '{"time":"1795400003.000","uid":"' . ('cd' x 16)
              . '","events":"purchase;order=o1;revenue=abc"}',
    59999  => '{"dup":1,"dup":2,"time":"1795400004.000","uid":"x"}',
);
my @mixed;
for my $i (0 .. $#lines) {
    push @mixed, $hostile{$i} if exists $hostile{$i};
    push @mixed, $lines[$i];
}
my $log = put('mixed.log', join("\n", @mixed) . "\n");
my $gz = "$dir/mixed.log.gz";
gzip($log => $gz) or die $GzipError;
my $noeol = put('noeol.log', join("\n", @mixed[0 .. 20000]));

# what the reading threads split themselves (blocks of whole lines read
# straight into a batch) and the single thread reads line by line: the
# edges of those blocks
my $limit = 1024 * 1024;                        # AB_LINE_MAX
my $newlines = put('newlines.log', join("\n", @lines[0 .. 999]) . "\n"
    . ("\n" x 3_000_000) . join("\n", @lines[1000 .. 1999]) . "\n");
my $pad = '{"time":"1795400005.000","uid":"' . ('ef' x 16) . '","ua":"';
my $tail = '"}';
my $exact = $pad . ('e' x ($limit - length($pad) - length($tail))) . $tail;
my $over = $pad . ('o' x ($limit + 1 - length($pad) - length($tail))) . $tail;
die unless length($exact) == $limit && length($over) == $limit + 1;
my @edges;
for my $shift (0, 1, 262_143, 262_144, 262_145, 700_000) {
    push @edges, ('{"x":"' . ('s' x $shift) . '"}') x ($shift > 0), $exact,
        $over, @lines[3000 .. 3010];
}
my $limits = put('limits.log', join("\n", @edges) . "\n");
my $long_eof = put('long-eof.log', join("\n", @lines[0 .. 500]) . "\n"
    . ('x' x (3 * $limit)));
my $cut = "$dir/cut.log.gz";
{
    my $whole = slurp($gz);
    put('cut.log.gz', substr($whole, 0, int(length($whole) * 0.6)));
}

my @gen = map { "t/data/abstat/gen/$_" }
    qw(ab.log ab.log.1 ab.log.2-compressed ab.log.3.gz ab.log.4.gz);
my @events = ('--events', 't/data/abstat/gen/backoffice.jsonl');

my %cases = (
    'plain, bad and over-long lines' => [$log],
    'gzip'                           => [$gz],
    'last line without a newline'    => [$noeol],
    'rotated set with events'        => [@gen, @events],
    'two files and a filter'         => [$log, $gz, '-e', 'checkout_cta'],
    '3 million empty lines'          => [$newlines],
    'lines of exactly the limit and one byte over, at read edges'
                                     => [$limits],
    'an over-long last line without a newline' => [$long_eof],
    'a gzip file cut short'          => [$cut, $log],
    'segments (--by), the parser taking their keys'
        => [@gen, @events, '--by', 'device', '--by', 'field:uri',
            '--by', 'hour'],
);

for my $name (sort keys %cases) {
    my @args = ('report', '--format', 'json', @{$cases{$name}});
    my ($rc0, $out0, $err0) = run_abstat_raw(@args, '--threads', '0');
    ok(length $out0 > 100, "$name: a report with --threads 0 (exit $rc0)");
    for my $t (@THREADS) {
        my ($rc, $out, $err) = run_abstat_raw(@args, '--threads', $t);
        is($rc, $rc0, "$name: --threads $t: same exit code");
        ok($out eq $out0, "$name: --threads $t: the same report");
        is($err, $err0, "$name: --threads $t: the same stderr");
    }
}

# the bad-line reasons are there, in line order, whatever the threads
{
    my (undef, undef, $err) = run_abstat_raw('report', '--format', 'json',
        '--threads', '3', $log);
    my @nums = $err =~ /mixed\.log:(\d+): bad line/g;
    ok(@nums >= 5, 'bad lines are sampled (' . scalar(@nums) . ')');
    is_deeply(\@nums, [sort { $a <=> $b } @nums], 'samples in line order');
    like($err, qr/line too long/, 'the over-long lines are counted');
}

# stdin
{
    local $AbstatTest::STDIN = $log;
    my ($rc0, $out0) = run_abstat_raw('report', '--format', 'json', '-q',
        '--threads', '0');
    my ($rc, $out) = run_abstat_raw('report', '--format', 'json', '-q',
        '--threads', '2', '-');
    ok($out eq $out0 && $rc == $rc0, 'stdin: the same report with 2 threads');
}

# --state: three runs over a growing file, the middle one ending in half a
# line; each thread count keeps its own state and ends on the same report
my %final;
for my $t (0, 2) {
    # the same file name in each run: bad-line samples name the file
    mkdir "$dir/grow-$t" or die;
    my $f = "grow-$t/growing.log";
    my $state = "$dir/state-$t";
    put($f, join("\n", @mixed[0 .. 30000]) . "\n");
    my @args = ('report', '--format', 'json', '-q', '--state', $state,
                '--threads', $t, "$dir/$f");
    my ($rc) = run_abstat_raw(@args);
    is($rc, 0, "--state, --threads $t: first run");
    my $half = substr($mixed[45001], 0, 40);
    put($f, join("\n", @mixed[30001 .. 45000]) . "\n" . $half, 1);
    ($rc) = run_abstat_raw(@args);
    is($rc, 0, "--state, --threads $t: run before the last line is whole");
    put($f, substr($mixed[45001], 40) . "\n"
        . join("\n", @mixed[45002 .. $#mixed]) . "\n", 1);
    ($rc, $final{$t}) = run_abstat_raw(@args);
    is($rc, 0, "--state, --threads $t: last run");
    $final{$t} =~ s{\Q$dir/grow-$t/\E}{}g;
}
ok($final{0} eq $final{2}, '--state: the same final report with 0 and 2 '
   . 'threads');
put('growing.log', join("\n", @mixed) . "\n");
my (undef, $whole) = run_abstat_raw('report', '--format', 'json', '-q',
    '--threads', '2', '--sequential', "$dir/growing.log");
$whole =~ s{\Q$dir/\E}{}g;
ok($final{2} eq $whole, '--state in three runs: the report of one whole read');

# --state over the edge files, the over-long last line completed later
for my $t (0, 2) {
    mkdir "$dir/edge-$t" or die;
    my $f = "$dir/edge-$t/edge.log";
    my $state = "$dir/edge-state-$t";
    # the limit-long lines are bad on purpose, far over 1% of the file
    my @args = ('report', '--format', 'json', '-q', '--state', $state,
                '--max-bad', '100', '--threads', $t, $f);
    put("edge-$t/edge.log", slurp($long_eof));
    my ($rc) = run_abstat_raw(@args);
    is($rc, 0, "--state, edges, --threads $t: first run");
    put("edge-$t/edge.log", "\n" . slurp($limits), 1);
    ($rc, $final{"edge$t"}) = run_abstat_raw(@args);
    is($rc, 0, "--state, edges, --threads $t: second run");
    $final{"edge$t"} =~ s{\Q$dir/edge-$t/\E}{}g;
}
ok($final{edge0} eq $final{edge2},
   '--state over over-long and limit-long lines: the same with 0 and 2 '
   . 'threads');

# random files (fixed seeds): good lines, empty lines, junk, lines around
# the 1 MiB limit, a tail without a newline; whole, gzip cut short, and
# appended in three pieces under --state
sub random_log {
    my ($seed) = @_;
    srand($seed);
    my @good = ('{"time":"1795400000.050","uid":"' . ('7a' x 16)
        . '","exposures":"checkout_cta:control","status":"200",'
        . '"request_time":"0.006"}',
        '{"time":"1795400001.000","uid":"' . ('23' x 16) . '","exposures":"",'
        . '"events":"purchase;order=o%d;revenue=12.5"}');
    my $out = '';
    for (1 .. int(rand(3000))) {
        my $r = rand();
        if ($r < 0.8) {
            (my $l = $good[int(rand(2))]) =~ s/%d/int(rand(100))/e;
            $out .= "$l\n";
        } elsif ($r < 0.9) {
            $out .= "\n" x int(rand(5));
        } elsif ($r < 0.97) {
            $out .= ('x' x int(rand(2000))) . "\n";
        } else {
            my $len = $limit - 3 + int(rand(6))
                + (rand() < 0.3 ? int(rand(600_000)) : 0);
            $out .= '{"a":"' . ('y' x ($len - 8)) . "\"}\n";
        }
    }
    $out .= 'z' x (rand() < 0.5 ? 1_500_000 : 2) if rand() < 0.5;
    return $out;
}

for my $seed (3, 5, 8, 13, 21, 34) {
    my $text = random_log($seed);
    my $f = put("random-$seed.log", $text);
    my $cutf = "$dir/random-$seed.gz";
    gzip(\$text => $cutf) or die $GzipError;
    my $z = slurp($cutf);
    put("random-$seed.gz", substr($z, 0, int(length($z) * 2 / 3)));
    for my $in ($f, $cutf) {
        my @args = ('report', '--format', 'json', $in);
        my ($rc0, $out0, $err0) = run_abstat_raw(@args, '--threads', '0');
        my ($rc2, $out2, $err2) = run_abstat_raw(@args, '--threads', '2');
        ok($rc0 == $rc2 && $out0 eq $out2 && $err0 eq $err2,
           "random file $seed (" . ($in =~ /gz$/ ? 'gzip cut short' : 'plain')
           . "): the same with 0 and 2 threads");
    }
    my $len = length $text;
    my ($a, $b) = sort { $a <=> $b } (($seed * 7919) % ($len + 1),
                                      ($seed * 104729) % ($len + 1));
    my %fin;
    for my $t (0, 2) {
        mkdir "$dir/rs-$seed-$t" or die;
        my $g = "rs-$seed-$t/g.log";
        my @args = ('report', '--format', 'json', '--state',
            "$dir/rs-$seed-$t/st", '--threads', $t, "$dir/$g");
        put($g, substr($text, 0, $a));
        run_abstat_raw(@args, '-q');
        put($g, substr($text, $a, $b - $a), 1);
        run_abstat_raw(@args, '-q');
        put($g, substr($text, $b), 1);
        my (undef, $out, $err) = run_abstat_raw(@args);
        ($fin{$t} = $out . $err) =~ s{\Q$dir/rs-$seed-$t/\E}{}g;
    }
    ok($fin{0} eq $fin{2}, "random file $seed in three --state runs: the "
       . 'same with 0 and 2 threads');
}

# usage
{
    my ($rc, undef, $err) = run_abstat_raw('report', '--threads', '9', $log);
    is($rc, 2, '--threads 9: a usage error');
    like($err, qr/bad --threads '9' \(0 to 8\)/, '--threads 9: says why');
    ($rc, undef, $err) = run_abstat_raw('report', '--threads', 'x', $log);
    is($rc, 2, '--threads x: a usage error');
}

done_testing();

# Failures are loud: input that is not the module's log, too many bad
# lines, names that do not exist, a missing command or include, an
# unknown option: each said on stderr with what was expected, and an exit
# code a cron job or a timer can act on.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use JSON::PP ();
use AbstatTest qw(run_abstat_raw log_line);

my $dir = tempdir(CLEANUP => 1);

sub put {
    my ($name, @lines) = @_;
    open my $fh, '>', "$dir/$name" or die "$dir/$name: $!";
    print $fh "$_\n" for @lines;
    close $fh or die;
    return "$dir/$name";
}

# 200 sound lines: 100 visitors split over two variants of cta.
my @good = map {
    log_line(1764547200 + $_ . '.000', sprintf('visitor%04d', $_),
             exposures => 'cta:' . ($_ % 2 ? 'control' : 'upsell')),
    log_line(1764547200 + $_ . '.500', sprintf('visitor%04d', $_),
             exposures => '')
} 1 .. 100;
my $ab = put('ab.log', @good);
my $combined = put('access.log', map {
    qq(127.0.0.1 - - [01/Dec/2025:00:00:0$_ +0000] "GET / HTTP/1.1" 200 612 "-" "curl/7.88")
} 1 .. 5);

my ($rc, $out, $err);

# --- a file that is not an ab_json log ---------------------------------
for my $q ([], ['-q']) {
    ($rc, $out, $err) = run_abstat_raw('report', @$q, $combined);
    is($rc, 6, "@$q combined log: exit 6");
    like($err, qr/^abstat: \Q$combined\E: none of its 5 line\(s\) is an ab_json log line \(.*log_format ab_json\)$/m,
         "@$q combined log: one line naming the file and what was expected");
    like($out, qr/^Input: /m, "@$q combined log: the report is still written");
}

# Beside a sound log the file is still named; the other's report stands.
($rc, $out, $err) = run_abstat_raw('report', '-q', '--format', 'json', $ab,
                                   $combined);
is($rc, 6, 'combined log beside a sound one: exit 6');
like($err, qr/\Q$combined\E: none of its 5 line/, '... names the bad file');
unlike($err, qr/\Q$ab\E:/, '... and not the sound one');

# An events file of something else.
($rc, $out, $err) = run_abstat_raw('report', '-q', '--events', $combined, $ab);
is($rc, 6, 'events file of another format: exit 6');
like($err, qr/\Q$combined\E: none of its 5 line\(s\) is a back-office event/,
     '... said as an events file');

# An empty log is not an error: a log just rotated has no lines yet.
my $empty = put('empty.log');
($rc) = run_abstat_raw('report', '-q', $ab, $empty);
is($rc, 0, 'an empty log beside a sound one: exit 0');

# --- --max-bad ------------------------------------------------------------
# 2 bad lines in 202: 0.99%, under the default 1%; 3 in 203: over it.
my $two = put('two-bad.log', @good, 'garbage', '{"uid":"x"}');
my $three = put('three-bad.log', @good, 'garbage', '{"uid":"x"}', '[]');
($rc, $out, $err) = run_abstat_raw('report', '-q', $two);
is($rc, 0, '0.99% bad lines: exit 0') or diag $err;
($rc, $out, $err) = run_abstat_raw('report', '-q', $three);
is($rc, 6, '1.48% bad lines: exit 6');
like($err, qr/^abstat: 3 of 203 line\(s\) read are bad \(1\.48%\), over --max-bad 1%$/m,
     '... said even with -q');
($rc) = run_abstat_raw('report', '-q', '--max-bad', '1.5', $three);
is($rc, 0, '--max-bad 1.5: exit 0');
($rc, $out, $err) = run_abstat_raw('report', '-q', '--max-bad', '0', $two);
is($rc, 6, '--max-bad 0: any bad line fails');
for my $v ('x', '-1', '101') {
    ($rc, $out, $err) = run_abstat_raw('report', '--max-bad', $v, $ab);
    is($rc, 2, "--max-bad $v: usage error");
}

# An alert still wins over bad input: it is the louder fact.
my $srm = put('srm.log', (map { log_line("$_.0", "s$_", exposures => 'cta:control') } 1 .. 90),
              (map { log_line("$_.0", "t$_", exposures => 'cta:upsell') } 1 .. 10),
              'garbage', 'garbage');
($rc, $out, $err) = run_abstat_raw('report', '-q', '--fail-on', 'srm', $srm);
is($rc, 10, 'SRM alert and 2% bad lines: the alert code');
like($err, qr/over --max-bad/, '... the bad lines said all the same');

# With --state the threshold is over what this run read.
my $state = "$dir/ab.state";
($rc, $out, $err) = run_abstat_raw('report', '-q', '--state', $state, $three);
is($rc, 6, '--state: bad lines over --max-bad: exit 6');
ok(-s $state, '... the state is saved all the same (the lines were read)');
($rc, $out, $err) = run_abstat_raw('report', '-q', '--state', $state, $three);
is($rc, 0, '--state: a run with no new lines: exit 0') or diag $err;

# --- names that do not exist --------------------------------------------
my $two_exp = put('two-exp.log', @good,
                  log_line('1764547300.0', 'visitor0001', exposures => 'search:a'),
                  log_line('1764547300.0', 'visitor0002', exposures => 'search:b'));
($rc, $out, $err) = run_abstat_raw('report', '-e', 'cat', $two_exp);
is($rc, 2, '-e of an unknown experiment: exit 2');
is($out, '', '... nothing on stdout');
like($err, qr/^abstat: --experiment 'cat' is in neither the input nor the configuration \(experiments: cta, search\)$/m,
     '... the experiments that exist, also those -e did not select');
($rc, $out, $err) = run_abstat_raw('report', '-e', 'cta', '-e', 'cat', $two_exp);
like($err, qr/experiments: cta, search\)/, '... with another -e that exists');

# Named in the configuration only: no visitors yet is not a typo.
my $conf = put('nginx.conf', 'http {', '  ab_experiment fresh {',
               '    salt s; variant one 50%; variant two 50%;', '  }', '}');
($rc, $out, $err) = run_abstat_raw('report', '-q', '-e', 'fresh', '-c', $conf,
                                   $two_exp);
is($rc, 0, '-e of an experiment of --nginx-conf only: exit 0') or diag $err;
($rc, $out, $err) = run_abstat_raw('report', '-e', 'cat', '-c', $conf, $two_exp);
like($err, qr/experiments: cta, search, fresh\)/, '... listed when -e misses');

{
    local $AbstatTest::STDIN = $two_exp;
    ($rc, $out, $err) = run_abstat_raw('report', '-e', 'cat');
    is($rc, 2, '-e unknown, stdin: exit 2');
    like($err, qr/standard input cannot be read again/, '... says why nothing is listed');
}

($rc, $out, $err) = run_abstat_raw('report', '-b', 'contrl', $two_exp);
is($rc, 2, '-b of an unknown variant: exit 2');
is($out, '', '... nothing on stdout');
like($err, qr/^abstat: --baseline 'contrl': no experiment has a variant 'contrl' \(cta: control, upsell; search: a, b\)$/m,
     '... the variants of each experiment');
($rc, $out, $err) = run_abstat_raw('report', '-b', 'cta=a', $two_exp);
is($rc, 2, '-b EXP=VAR, VAR of another experiment: exit 2');
like($err, qr/^abstat: --baseline 'cta=a': cta has no variant 'a' \(variants: control, upsell\)$/m,
     '... the variants of that experiment');
($rc, $out, $err) = run_abstat_raw('report', '-b', 'cat=a', $two_exp);
is($rc, 2, '-b of an unknown experiment: exit 2');
like($err, qr/no experiment 'cat'/, '... said');
($rc, $out, $err) = run_abstat_raw('report', '-q', '-b', 'upsell', $two_exp);
is($rc, 0, '-b of a variant of one experiment: exit 0') or diag $err;
like($out, qr/^Experiment cta: baseline upsell \(option\)$/m, '... used there');
($rc, $out, $err) = run_abstat_raw('report', '-q', '-b', 'fresh=two', '-c', $conf,
                                   $two_exp);
is($rc, 0, '-b of a variant of --nginx-conf only: exit 0') or diag $err;

# A configuration without experiments, an include that is missing.
my $bare = put('bare.conf', 'http {', '  server { listen 80; }', '}');
($rc, $out, $err) = run_abstat_raw('report', '-q', '-c', $bare, $ab);
is($rc, 0, '-c without experiments: exit 0');
like($err, qr/^abstat: warning: --nginx-conf \Q$bare\E: no ab_experiment block/m,
     '... a warning naming the file');
my $inc = put('inc.conf', 'http {', '  include ab/experiments.conf;', '}');
($rc, $out, $err) = run_abstat_raw('report', '-c', $inc, $ab);
is($rc, 2, 'a missing include: exit 2');
like($err, qr/^abstat: --nginx-conf: \Q$inc\E:2: include \Q$dir\E\/ab\/experiments\.conf: no such file$/m,
     '... names the file it looked for');

# --- the command line -----------------------------------------------------
($rc, $out, $err) = run_abstat_raw($ab);
is($rc, 2, 'no command: exit 2');
is($err, "abstat: missing command (did you mean 'abstat report $ab'?)\n",
   '... one line suggesting the command');
($rc, $out, $err) = run_abstat_raw('ab.log');
is($err, "abstat: missing command (did you mean 'abstat report ab.log'?)\n",
   '... also for a log that does not exist');
($rc, $out, $err) = run_abstat_raw('-q', $ab);
like($err, qr/^abstat: missing command \(did you mean 'abstat report -q \Q$ab\E'\?\)$/,
     '... and for an option where the command belongs');
($rc, $out, $err) = run_abstat_raw('frobnicate');
is($rc, 2, 'an unknown command: exit 2');
like($err, qr/^abstat: unknown command 'frobnicate'/, '... named');
($rc, $out, $err) = run_abstat_raw();
like($err, qr/^abstat: missing command \(report, map, reduce, merge or state\)/, 'nothing: missing command');
unlike($err, qr/Usage:/, '... not the whole usage');

for my $case (['--no-such-option', "unknown option '--no-such-option'"],
              ['--no-such=1', "unknown option '--no-such=1'"],
              ['-Z', "unknown option '-Z'"],
              ['--format', "option '--format' needs a value"],
              ['-f', "option '-f' needs a value"]) {
    my ($opt, $msg) = @$case;
    ($rc, $out, $err) = run_abstat_raw('report', $ab, $opt);
    is($rc, 2, "$opt: exit 2");
    like($err, qr/^abstat: \Q$msg\E$/m, "$opt: program name and the option as typed");
    unlike($err, qr/^report:/m, "$opt: not the command word as the program");
}

# --- what every format states ------------------------------------------
# $AbstatTest sets SOURCE_DATE_EPOCH to 1764547200: 2025-12-01T00:00:00Z.
my %fmt;
for my $f (qw(json csv prom html text)) {
    ($rc, $fmt{$f}, $err) = run_abstat_raw('report', '-q', '--format', $f, $ab);
    is($rc, 0, "$f: exit 0") or diag $err;
}
my $j = JSON::PP->new->decode($fmt{json});
is($j->{generated}, '2025-12-01T00:00:00Z', 'json: when it was generated');
is($j->{input}{first_time}, '2025-12-01T00:00:01Z', 'json: first line time');
is($j->{input}{last_time}, '2025-12-01T00:01:40Z', 'json: last line time');
like($fmt{csv}, qr/^experiment,.*,unit,first_time,last_time,generated$/m,
     'csv: the header names the time columns');
like($fmt{csv}, qr/^cta,control,conversion_rate,upsell,.*,,2025-12-01T00:00:01Z,2025-12-01T00:01:40Z,2025-12-01T00:00:00Z$/m,
     'csv: every row carries them');
like($fmt{prom}, qr/^abstat_report_generated_timestamp_seconds 1764547200$/m,
     'prom: when it was generated');
like($fmt{prom}, qr/^abstat_input_first_line_timestamp_seconds 1764547201$/m,
     'prom: first line time');
like($fmt{prom}, qr/^abstat_input_last_line_timestamp_seconds 1764547300\.5$/m,
     'prom: last line time, to the millisecond');
like($fmt{html}, qr/Log lines from 2025-12-01T00:00:01Z to 2025-12-01T00:01:40Z; generated 2025-12-01T00:00:00Z/,
     'html: the range and when it was generated');
like($fmt{text}, qr/^Data: log lines from 2025-12-01T00:00:01Z to 2025-12-01T00:01:40Z; report\s+generated 2025-12-01T00:00:00Z$/m,
     'text: the range and when it was generated');

# the clock when SOURCE_DATE_EPOCH is not set
{
    local $ENV{SOURCE_DATE_EPOCH};
    delete $ENV{SOURCE_DATE_EPOCH};
    my $t0 = time;
    (undef, $out) = run_abstat_raw('report', '-q', '--format', 'prom', $ab);
    my ($g) = $out =~ /^abstat_report_generated_timestamp_seconds (\d+)$/m;
    ok(defined $g && $g >= $t0 - 1 && $g <= time + 1,
       'without SOURCE_DATE_EPOCH: generated now') or diag $g;
    local $ENV{SOURCE_DATE_EPOCH} = 'soon';
    ($rc, $out, $err) = run_abstat_raw('report', '-q', $ab);
    like($err, qr/SOURCE_DATE_EPOCH 'soon' is not epoch seconds/, 'a bad SOURCE_DATE_EPOCH is said');
}

# no line: the range is unknown, not 1970
($rc, $out) = run_abstat_raw('report', '-q', '--format', 'json', $empty);
$j = JSON::PP->new->decode($out);
ok(!defined $j->{input}{first_time} && !defined $j->{input}{last_time},
   'no lines: no time range');

# --state: the first time is the full run's, or unknown until the state
# file keeps it; never a later line's
my $st2 = "$dir/range.state";
my $part = put('part.log', @good[0 .. 99]);
run_abstat_raw('report', '-q', '--state', $st2, $part);
put('part.log', @good);
(undef, $out) = run_abstat_raw('report', '-q', '--format', 'json', '--state',
                               $st2, $part);
$j = JSON::PP->new->decode($out);
ok(!defined $j->{input}{first_time}
   || $j->{input}{first_time} eq '2025-12-01T00:00:01Z',
   '--state: the first time is the first run\'s or unknown')
    or diag $j->{input}{first_time};
is($j->{input}{last_time}, '2025-12-01T00:01:40Z', '--state: the last time');

# numbers in the shortest form that reads back, latency with its unit
like($fmt{json}, qr/"alpha":\s*0\.05,/, 'json: 0.05, not 0.050000000000000003');
my @long_nums = grep {
    my $n = $_;
    my ($short) = grep { sprintf('%.*g', $_, $n) == $n } 1 .. 17;
    length(sprintf '%.*g', $short, $n) < length($n) && $n !~ /e/i;
} $fmt{json} =~ /(?<=[:\[,\s])(-?\d+\.\d+(?:[eE][-+]?\d+)?)(?=[,\]\s])/g;
is_deeply(\@long_nums, [], 'json: every number in its shortest form');
like($fmt{prom}, qr/^abstat_visitors\{experiment="cta",variant="control"\} 50$/m,
     'prom: 50 visitors, not 5e+01');
my ($lat) = grep { $_->{metric} eq 'mean_latency' } @{ $j = JSON::PP->new->decode($fmt{json}), $j->{experiments}[0]{metrics} };
is($lat->{unit}, 's', 'json: mean_latency in seconds');
my ($conv) = grep { $_->{metric} eq 'conversion_rate' } @{ $j->{experiments}[0]{metrics} };
ok(exists $conv->{unit} && !defined $conv->{unit}, 'json: a rate has no unit');
like($fmt{csv}, qr/^cta,control,mean_latency,upsell,1,.*,s,2025/m, 'csv: the unit column');
like($fmt{prom}, qr/^# HELP abstat_metric_value .*mean_latency in seconds/m, 'prom: the unit in the help');
like($fmt{html}, qr/mean_latency \(s\)/, 'html: the unit beside the metric');

# --- the text report in 80 columns --------------------------------------
# the reference logs: three experiments, three variants, long metric names
my $gen = 't/data/abstat/gen';
my @gen = map { "$gen/$_" } qw(ab.log.1 ab.log.3.gz ab.log.2-compressed ab.log.4.gz ab.log);
for my $w (80, 100, 60) {
    ($rc, $out, $err) = run_abstat_raw('report', '-q', '--cap-revenue', '95',
        '--events', "$gen/backoffice.jsonl",
        $w == 80 ? () : ('--width', $w), @gen);
    is($rc, 0, "text, width $w: exit 0") or diag $err;
    my @over = grep { length > $w } split /\n/, $out;
    is_deeply(\@over, [], "text: no line over $w columns");
    is(scalar(() = $out =~ / +$/mg), 0, "text, width $w: no trailing spaces");
    like($out, qr/^  revenue_per_visitor_capped$/m, "text, width $w: every metric");
}

done_testing();

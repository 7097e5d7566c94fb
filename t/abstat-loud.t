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
like($err, qr/^abstat: missing command \(report or state\)/, 'nothing: missing command');
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

done_testing();

#!/usr/bin/perl
# Hostile input to abstat (issue 7): truncated and fake gzip, binary
# garbage, lines of 1 MB and more, NUL bytes, invalid UTF-8, numbers like
# 1e999 / NaN / -0, missing fields, duplicate keys, deep nesting. Each is
# counted as a bad line with a reason (docs/abstat.md "Bad lines"), never
# a crash or a hang, and the report is still written. Unwritable output
# (stdout on /dev/full, a file limit as a full disk, --output where it
# cannot be written) and an unusable --state path give a clear message
# and a non-zero exit, and leave the previous report or state file as it
# was.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use IO::Compress::Gzip qw(gzip $GzipError);
use JSON::PP;
use POSIX qw(WNOHANG);
use Time::HiRes qw(sleep time);
use AbstatTest ();

my $BIN = $AbstatTest::BIN;
plan(skip_all => "$BIN is not built (make)") unless -x $BIN;

my $dir = tempdir(CLEANUP => 1);

sub put {
    my ($name, $content) = @_;
    open my $fh, '>:raw', "$dir/$name" or die "$dir/$name: $!";
    print $fh $content;
    close $fh or die;
    return "$dir/$name";
}

# Runs abstat with a time limit (a hang is a failure, not a stuck test).
# Returns (exit code or 'timeout' or 'signal N', stdout, stderr).
sub run {
    my (%o) = @_;
    my $out = $o{stdout} // "$dir/out";
    my $err = "$dir/err";
    my $pid = fork // die "fork: $!";
    if (!$pid) {
        open STDIN, '<', '/dev/null';
        open STDOUT, '>', $out or die "$out: $!";
        open STDERR, '>', $err or die;
        no warnings 'exec';
        $SIG{XFSZ} = 'IGNORE';      # a full disk is an error, not a signal
        if ($o{fsize}) {
            exec '/bin/sh', '-c', "ulimit -f $o{fsize}; exec \"\$@\"", 'sh',
                $BIN, @{$o{args}};
        }
        exec $BIN, @{$o{args}};
        POSIX::_exit(127);
    }
    my $deadline = time + ($o{timeout} || 60);
    my $rc;
    while (1) {
        if (waitpid($pid, WNOHANG) == $pid) {
            $rc = $? & 127 ? 'signal ' . ($? & 127) : $? >> 8;
            last;
        }
        if (time > $deadline) {
            kill 'KILL', $pid;
            waitpid($pid, 0);
            $rc = 'timeout';
            last;
        }
        sleep 0.02;
    }
    my $slurp = sub {
        open my $fh, '<:raw', $_[0] or return '';
        local $/;
        return scalar(<$fh>) // '';
    };
    return ($rc, $o{stdout} ? '' : $slurp->($out), $slurp->($err));
}

# A sound log: 40 visitors in two variants, a few purchases.
my $base = '';
for my $i (1 .. 40) {
    my $u = sprintf 'visitor%09d', $i;
    my $v = $i % 2 ? 'control' : 'upsell';
    $base .= qq({"time":"$i.000","uid":"$u","exposures":"cta:$v","status":"200","request_time":"0.010"}\n);
    $base .= qq({"time":"$i.500","uid":"$u","events":"purchase;order=O$i;revenue=$i.5"}\n)
        if $i % 4 == 0;
}
my $base_lines = () = $base =~ /\n/g;
my $base_log = put('base.log', $base);

my $line = sub {     # a good line with fields replaced or added
    my (%f) = @_;
    my %d = (time => '"100.000"', uid => '"hostile00000001"',
        exposures => '"cta:upsell"', status => '"200"');
    %d = (%d, %f);
    return '{' . join(',', map { qq("$_":$d{$_}) } grep { defined $d{$_} }
        sort keys %d) . '}';
};

# Checks one report run: the exit code, the report (JSON) still written,
# the bad-line count and the reasons of the samples.
sub check_report {
    my ($name, $args, %want) = @_;
    my ($rc, $out, $err) = run(args => ['report', '--format', 'json', '-q',
        @$args], timeout => $want{timeout});
    # bad lines over --max-bad (1%) or a file without one sound line: 6
    is($rc, $want{rc} // ($want{bad} ? 6 : 0), "$name: exit $rc")
        or diag($err);
    my $j = eval { JSON::PP->new->decode($out) };
    ok($j && $j->{input}, "$name: the report is written") or return;
    if (defined $want{bad}) {
        is($j->{input}{bad_lines}, $want{bad}, "$name: bad lines counted")
            or diag(explain $j->{input}{bad_samples});
    }
    if ($want{reason}) {
        my @r = map { $_->{reason} } @{$j->{input}{bad_samples} || []};
        my @miss = grep { my $re = $_; !grep { /$re/ } @r } @{$want{reason}};
        ok(!@miss && @r, "$name: reasons given (@r)")
            or diag("missing: @miss; got: " . join(' | ', @r));
    }
    if (defined $want{lines}) {
        is($j->{input}{lines}, $want{lines}, "$name: lines read");
    }
    my ($cta) = grep { $_->{name} eq 'cta' } @{$j->{experiments} || []};
    ok($cta, "$name: the sound lines are still reported");
    like($err, $want{stderr}, "$name: stderr says what went wrong")
        if $want{stderr};
    return $j;
}

############################################################################
# bad lines, one file per kind

my @cases = (
    # [name, lines, expected bad reasons (regexes)]
    ['binary garbage', [map { "\x00\xff\x1bgarbage" . join('', map { chr(($_ * 37 + 11) % 256) } 1 .. 300) =~ s/\n/ /gr } 1 .. 50],
        [qr/not JSON/]],
    ['NUL bytes', [
        $line->(uid => qq("hostile\x000000001")),
        $line->() . "\x00",
        "\x00" . $line->(),
        "\x00" x 1000,
        $line->(exposures => qq("cta:up\x00sell")),
    ], [qr/not JSON/]],
    ['numbers', [
        $line->(time => '1e999'),
        $line->(time => '"1e999"'),
        $line->(time => '"NaN"'),
        $line->(time => 'NaN'),
        $line->(time => '"-0"'),
        $line->(time => '-0'),
        $line->(time => '"Infinity"'),
        $line->(time => '"99999999999999999999"'),
        $line->(time => '"1.0000001"'),
    ], [qr/time/, qr/not a string/, qr/not JSON/]],
    ['numbers in the other fields', [
        $line->(status => '"-0"'),
        $line->(status => '500'),
        $line->(request_time => '"1e999"'),
        $line->(request_time => '"NaN"'),
        $line->(events => '"purchase;revenue=1e999"'),
        $line->(events => '"purchase;revenue=NaN"'),
        $line->(events => '"purchase;revenue=--1"'),
        $line->(events => '"purchase;revenue=9999999999999.5"'),
    ], [qr/status/, qr/request_time/, qr/events/]],
    ['missing fields', [
        '{}', '[]', 'null', '"x"', '1',
        $line->(uid => undef),
        $line->(time => undef),
        $line->(uid => 'null'),
        $line->(time => 'null'),
    ], [qr/no uid/, qr/no time/, qr/not JSON/]],
    ['duplicate keys', [
        $line->() =~ s/\}$/,"uid":"other0000000001"}/r,
        $line->() =~ s/\}$/,"time":"1.0"}/r,
        $line->() =~ s/\}$/,"exposures":"cta:control"}/r,
        $line->() =~ s/\}$/,"status":"200"}/r,
    ], [qr/duplicate key/]],
    ['deep nesting', [
        $line->(x => '[' x 100000 . ']' x 100000),
        $line->(x => '{"a":' x 50000 . '1' . '}' x 50000),
        $line->(x => '[' x 100000),
    ], [qr/nested too deep|not JSON/]],
    ['broken JSON', [
        substr($line->(), 0, 30),
        $line->() . '}',
        $line->() . ' x',
        $line->() =~ s/"uid"/uid/r,
        $line->() =~ s/:/ /r,
        $line->(uid => qq("\\ud800\\u")),
        $line->(uid => qq("\\x41")),
        $line->(uid => qq("tab\there")),
        '{' . ('"k":"v",' x 20000) . '}',
    ], [qr/not JSON/]],
    ['invalid field syntax', [
        $line->(exposures => qq("cta:up\xc3\x28sell")),
        $line->(exposures => '"cta:a,"'),
        $line->(exposures => '"' . join(',', map { "e$_:a" } 1 .. 65) . '"'),
        $line->(events => '"' . join(',', ('a') x 65) . '"'),
        $line->(events => qq("purchase;order=\xff")),
        $line->(forced => '"x"'),
    ], [qr/exposures/, qr/events/, qr/forced/]],
);

for my $c (@cases) {
    my ($name, $lines, $reasons) = @$c;
    (my $file = $name) =~ s/\W+/-/g;
    my $path = put("$file.log", join("\n", @$lines) . "\n");
    check_report($name, [$base_log, $path], bad => scalar @$lines,
        reason => $reasons, lines => $base_lines + @$lines);
}

# what the log contract accepts: invalid UTF-8 in strings, -0 revenue,
# unknown keys twice, a line just under 1 MiB
{
    my @good = (
        $line->(uid => qq("hostile\xff\xfe\xc3\x28000001")),
        $line->(ua => qq("\xed\xa0\x80\xc0\xaf")),
        $line->(events => '"refund;revenue=-0,purchase;revenue=-0"'),
        $line->() =~ s/\}$/,"x":1,"x":[2],"ua":"a","ua":"b"}/r,
        $line->(ua => '"' . ('u' x (1024 * 1024 - 200)) . '"'),
    );
    my $path = put('good.log', join("\n", @good) . "\n");
    my $j = check_report('accepted oddities', [$base_log, $path], bad => 0);
    is($j->{input}{visitors}, 42, 'accepted oddities: two more visitors')
        if $j;
}

# lines of 1 MiB and more: bad, skipped without buffering them whole
{
    my $over = $line->(ua => '"' . ('u' x (1024 * 1024)) . '"');
    my $huge = 'x' x (16 * 1024 * 1024);           # 16 MB, no newline
    my $path = put('long.log', "$over\n" . $line->() . "\n$huge\n"
        . $line->(uid => '"after00000000001"') . "\n$huge");
    check_report('1 MiB lines', [$base_log, $path], bad => 3,
        reason => [qr/1 MiB|long/], lines => $base_lines + 5, timeout => 120);
}

############################################################################
# back-office events files

{
    my @bad = (
        '{"time":1e999,"event":"refund","order":"O4","revenue":"1"}',
        '{"time":"NaN","event":"refund","order":"O4"}',
        '{"time":-0,"event":"refund","order":"O4"}',
        '{"time":"5","event":"refund","order":"O4","revenue":1e999}',
        '{"time":"5","event":"refund","order":"O4","revenue":NaN}',
        '{"time":"5","event":"refund","order":"O4","revenue":"Infinity"}',
        '{"time":"5","event":"refund","order":"O4","order":"O8"}',
        '{"time":"5","event":"purchase","order":"O4"}',
        '{"event":"refund","order":"O4"}',
        '{"time":"5","order":"O4"}',
        "{\"time\":\"5\",\"event\":\"refund\",\"order\":\"O\x004\"}",
        "\x1f\x8b\x08\x00garbage",
    );
    my $path = put('events.jsonl', join("\n", @bad) . "\n"
        . '{"time":"5","event":"refund","order":"O4","revenue":-0}' . "\n");
    my $j = check_report('events file', [$base_log, '--events', $path],
        bad => scalar @bad, reason => [qr/time/, qr/revenue/,
        qr/duplicate key/, qr/uid/, qr/event/, qr/not JSON/]);
}

############################################################################
# gzip

{
    my $gz;
    gzip(\$base => \$gz) or die $GzipError;
    my $half = put('truncated.log.gz', substr($gz, 0, int(length($gz) / 2)));
    my $j = check_report('truncated gzip', [$half, $base_log], rc => 1,
        stderr => qr/\Q$half\E/);
    ok($j && $j->{input}{lines} > $base_lines,
        'truncated gzip: the lines before the cut count');

    my $fake = put('fake.log.gz', "\x1f\x8b\x08\x00" . ("\xff\x00garbage" x 1000));
    check_report('gzip header, garbage after', [$fake, $base_log], rc => 1,
        stderr => qr/\Q$fake\E/);

    my $empty = put('empty.gz', "\x1f\x8b");
    check_report('two bytes of gzip magic', [$empty, $base_log],
        rc => 1, stderr => qr/\Q$empty\E/);

    # a gzip bomb of newlines: 64 MB of empty lines from 64 KB
    my $bomb;
    gzip(\("\n" x (64 * 1024 * 1024)) => \$bomb) or die $GzipError;
    my $b = put('bomb.log.gz', $bomb);
    my $jb = check_report('64 MB of empty lines in gzip', [$b, $base_log],
        rc => 6, timeout => 120);
    ok($jb && $jb->{input}{lines} >= $base_lines,
        '64 MB of empty lines: read to the end');
}

# not a file
check_report('a directory as input', [$dir, $base_log], rc => 1,
    stderr => qr/\Q$dir\E/);

############################################################################
# output and state that cannot be written

for my $fmt (qw(json text csv)) {
    my ($rc, undef, $err) = run(args => ['report', '--format', $fmt, '-q',
        $base_log], stdout => '/dev/full');
    ok($rc =~ /^\d+$/ && $rc != 0, "stdout on /dev/full ($fmt): non-zero "
        . "exit ($rc)");
    like($err, qr/cannot write the report to standard output: No space left/,
        "stdout on /dev/full ($fmt): the message says why");
    ($rc, undef, $err) = run(args => ['report', '--format', $fmt, '-q',
        $base_log], stdout => "$dir/full-$fmt", fsize => 1);
    ok($rc =~ /^\d+$/ && $rc != 0, "full disk ($fmt, 512-byte file "
        . "limit): non-zero exit ($rc)");
    like($err, qr/cannot write the report to standard output: File too large/,
        "full disk ($fmt): the message says why") or diag($err);
}

SKIP: {
    my (undef, $help) = run(args => ['--help']);
    skip('abstat has no --output', 6) unless $help =~ /--output/;

    my ($rc, undef, $err) = run(args => ['report', '-q', '--output',
        '/dev/null/report.json', $base_log]);
    ok($rc =~ /^\d+$/ && $rc != 0, "--output in a non-directory: non-zero "
        . "exit ($rc)");
    like($err, qr{/dev/null/report\.json}, '--output in a non-directory: '
        . 'the message names it');

    # a previous report, then a full disk: the old report stays whole
    my $rep = "$dir/report.json";
    ($rc) = run(args => ['report', '-q', '--format', 'json', '--output',
        $rep, $base_log]);
    is($rc, 0, '--output: a first report written');
    my $before = do { local $/; open my $fh, '<:raw', $rep; <$fh> } // '';
    ($rc, undef, $err) = run(args => ['report', '-q', '--format', 'json',
        '--output', $rep, $base_log, "$dir/binary-garbage.log"],
        fsize => 1, stdout => '/dev/null');
    ok($rc =~ /^\d+$/ && $rc != 0, "--output on a full disk: non-zero exit "
        . "($rc)");
    like($err, qr/\Q$rep\E/, '--output on a full disk: the message names it');
    my $after = do { local $/; open my $fh, '<:raw', $rep; <$fh> } // '';
    ok(length $before && $after eq $before,
        '--output on a full disk: the previous report is intact');
}

SKIP: {
    my (undef, $help) = run(args => ['--help']);
    skip('abstat has no --state', 6) unless $help =~ /--state/;

    my $state = "$dir/ab.state";
    my ($rc, $out, $err) = run(args => ['report', '--format', 'json', '-q',
        '--state', $state, $base_log]);
    is($rc, 0, '--state: a first run writes the state') or diag($err);
    my $before = do { local $/; open my $fh, '<:raw', $state; <$fh> } // '';
    ok(length $before, '--state: the state file exists');

    # a state path whose directory is a file: cannot be written, root or not
    ($rc, $out, $err) = run(args => ['report', '-q', '--state',
        '/dev/null/ab.state', $base_log]);
    ok($rc =~ /^\d+$/ && $rc != 0, "--state in a non-directory: non-zero exit ($rc)");
    like($err, qr/ab\.state/, '--state in a non-directory: the message names it');

    # a full disk while the state is written: the old state stays
    my $more = put('more.log', $line->() . "\n");
    ($rc, $out, $err) = run(args => ['report', '-q', '--state', $state, $more],
        fsize => 1, stdout => '/dev/null');
    my $after = do { local $/; open my $fh, '<:raw', $state; <$fh> } // '';
    ok(($rc =~ /^\d+$/ && $rc != 0) || $after ne $before,
        "--state on a full disk: non-zero exit ($rc), or the state was written")
        or diag($err);
    ok($rc eq '0' || $after eq $before,
        '--state on a full disk: the previous state file is intact');
}

done_testing;

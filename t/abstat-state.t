# abstat report --state: incremental runs over a log that grows and is
# rotated (rename with delayed compression, and copytruncate), with lines
# still being written, give exactly the report of one full run over the
# same lines; runs killed with SIGKILL at random points lose nothing and
# count nothing twice. Also: the lock, the version check, option checks.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use File::Temp qw(tempdir);
use File::Copy qw(copy move);
use IO::Compress::Gzip qw(gzip $GzipError);
use Time::HiRes qw(usleep time);
use POSIX qw(WNOHANG);
use AbstatTest qw(run_abstat_raw);

my $BIN = $AbstatTest::BIN;
my $seed = $ENV{ABSTAT_STATE_SEED} // 20261123;
srand($seed);
note("seed $seed (ABSTAT_STATE_SEED)");

my $dir = tempdir(CLEANUP => 1);
my $log = "$dir/access.log";
my $ev = "$dir/refunds.jsonl";
my $state = "$dir/abstat.state";

# The writer: the logical clock advances; a line's time lags it by up to
# 20 s (workers finish out of order), well inside --late 60, while the
# whole log spans hours, so that old records are folded.
my $clock = 1763900000;
# Visitors come and go: 40 active at a time, so that entries into the
# experiments happen all along the log, next to the visitors' other lines.
my $next_uid = 0;
my @uids = map { sprintf 'v%05d', $next_uid++ } 1 .. 40;
my (%variant_a, %variant_b);
my $order = 0;
my @orders;

sub stamp { sprintf '%.3f', $clock - rand(20) }

sub log_line {
    $clock += rand(2);
    $uids[int rand @uids] = sprintf 'v%05d', $next_uid++ if rand() < 0.08;
    my $r = rand;
    my $u = $uids[int rand @uids];
    return "garbage {\n" if $r < 0.01;
    return qq({"uid":"$u","exposures":""}\n) if $r < 0.015;
    my $t = stamp();
    my ($exp, $events, $forced) = ('', '', '');
    if ($r < 0.35) {
        $variant_a{$u} //= rand() < 0.5 ? 'control' : 'upsell';
        my $v = rand() < 0.02 ? 'upsell' : $variant_a{$u};
        $exp = "cta:$v";
        if (rand() < 0.5) {
            $variant_b{$u} //= (qw(a b c))[int rand 3];
            $exp .= ",layout:$variant_b{$u}";
        }
    } elsif ($r < 0.55) {
        $order++;
        push @orders, $order;
        my $rev = sprintf '%.2f', 5 + rand(100);
        $events = "add_to_cart,purchase;order=O$order;revenue=$rev";
    } elsif ($r < 0.58) {
        my $o = @orders ? $orders[int rand @orders] : 1;
        $events = "purchase;order=O$o;revenue=9.99";    # a duplicate
    } elsif ($r < 0.6) {
        $events = 'purchase;revenue=3.5';
    } elsif ($r < 0.7) {
        $events = (qw(view_item add_to_cart newsletter))[int rand 3];
    } elsif ($r < 0.72) {
        $forced = 'cta:upsell';
    } elsif ($r < 0.73) {
        my $o = @orders ? $orders[int rand @orders] : 1;
        return qq({"time":"$t","uid":"","events":"refund;order=O$o;revenue=2"}\n);
    }
    my $status = rand() < 0.05 ? 503 : 200;
    my $rt = sprintf '%.3f', rand(0.5);
    return qq({"time":"$t","uid":"$u","exposures":"$exp","forced":"$forced",)
         . qq("events":"$events","status":"$status","request_time":"$rt"}\n);
}

sub event_line {
    my $t = stamp();
    if (rand() < 0.7) {
        my $o = @orders ? $orders[int rand @orders] : 'X1';
        return qq({"time":"$t","event":"refund","order":"O$o","revenue":1.25}\n);
    }
    my $u = $uids[int rand @uids];
    return qq({"time":$t,"event":"signup","uid":"$u"}\n);
}

# Every file's complete content in the order it was created: the full run
# reads these. $partial: bytes of a line written only in part.
my @gens = ({ path => $log, content => '' });
my $current = $gens[0];
my $partial = '';
my $events_content = '';
append($ev, '');
append($log, '');

sub append {
    my ($path, $bytes) = @_;
    open my $fh, '>>', $path or die "$path: $!";
    print $fh $bytes;
    close $fh;
}

sub write_lines {
    my ($n) = @_;
    my $bytes = $partial;
    for (1 .. $n) {
        $bytes .= log_line();
    }
    # Sometimes the last line is not finished yet.
    $partial = '';
    if (rand() < 0.4) {
        my $line = log_line();
        my $cut = 1 + int rand(length($line) - 1);
        $partial = substr($line, $cut);
        $bytes .= substr($line, 0, $cut);
    }
    # What the full run sees: complete lines only; the rest counts when
    # it is finished.
    append($current->{path}, $bytes);
    $current->{content} .= $bytes;
    if (rand() < 0.3) {
        my $e = event_line();
        append($ev, $e);
        $events_content .= $e;
    }
}

# Rotation: the old file keeps its content under new names (.1, then
# .2.gz, ...), or a copy is made and the file emptied (copytruncate).
my $rot = 0;
sub rotate {
    my ($copytruncate) = @_;
    finish_line();
    for my $k (reverse 2 .. $rot + 1) {
        move("$log.$k.gz", "$log." . ($k + 1) . '.gz') if -e "$log.$k.gz";
    }
    if (-e "$log.1") {
        gzip("$log.1" => "$log.2.gz") or die $GzipError;
        unlink "$log.1";
    }
    if ($copytruncate) {
        copy($log, "$log.1") or die;
        truncate $log, 0 or die;
    } else {
        move($log, "$log.1") or die;
        # nginx writes to the renamed file until it reopens its logs.
        if (rand() < 0.5) {
            my $late = log_line() . log_line();
            append("$log.1", $late);
            $current->{content} .= $late;
        }
        open my $fh, '>', $log or die;
        close $fh;
    }
    $rot++;
    $current = { path => $log, content => '' };
    push @gens, $current;
}

sub finish_line {
    return if $partial eq '';
    append($current->{path}, $partial);
    $current->{content} .= $partial;
    $partial = '';
}

sub inputs {
    # Oldest first, as a glob sorted by age would give them.
    my @f = grep { -e } (map { "$log.$_.gz" } reverse 2 .. $rot + 2),
                        "$log.1", $log;
    return (@f, '--events', $ev);
}

# Trends (--bucket) too: they need purchase times, which folding keeps.
# 1% of the lines written are garbage: a few runs read more than that;
# --sequential, as --state implies it, so that the full runs compare
my @common = ('report', '--format', 'json', '-q', '--late', '60',
              '--bucket', 'hour', '--max-bad', '100', '--sequential');

# The full run over the complete lines written so far, each generation
# in a file of its own.
sub full_report {
    my $fdir = "$dir/full";
    mkdir $fdir;
    unlink glob "$fdir/*";
    my @files;
    for my $i (0 .. $#gens) {
        my $c = $gens[$i]{content};
        $c =~ s/[^\n]*\z//;
        next if $c eq '';
        my $f = sprintf '%s/gen%03d', $fdir, $i;
        open my $fh, '>', $f or die;
        print $fh $c;
        close $fh;
        push @files, $f;
    }
    my $e = $events_content;
    open my $fh, '>', "$fdir/events" or die;
    print $fh $e;
    close $fh;
    # An empty file is not counted by --state (nothing read from it).
    my ($rc, $out, $err) = run_abstat_raw(@common, @files,
        $e eq '' ? () : ('--events', "$fdir/events"));
    die "full run failed ($rc): $err" if $rc != 0;
    return $out;
}

# Bad-line samples name the file a line was read from, which differs
# between a rotated log and the full run's copies; all else must match.
sub normalize {
    my ($json) = @_;
    $json =~ s/"file":\s*"[^"]*"/"file":"-"/g;
    return $json;
}

sub incremental {
    my ($rc, $out, $err) = run_abstat_raw(@common, '--state', $state,
                                          inputs());
    return ($rc, $out, $err);
}

# Starts an incremental run in the background; returns its pid.
sub start_run {
    my $pid = fork // die;
    if ($pid == 0) {
        open STDOUT, '>', '/dev/null';
        open STDERR, '>', '/dev/null';
        exec $BIN, @common, '--state', $state, inputs();
        exit 127;
    }
    return $pid;
}

# Starts a run and kills it after $delay seconds (it may finish first).
# Returns whether the kill is what ended it.
sub killed_run {
    my ($delay) = @_;
    my $pid = start_run();
    usleep(int($delay * 1e6));
    kill 'KILL', $pid;
    waitpid $pid, 0;
    return ($? & 127) == 9;
}

my ($checked, $killed, $mismatch, $midway) = (0, 0, 0, 0);
my $run_time = 0.05;

for my $step (1 .. 60) {
    write_lines(20 + int rand 80);
    my $r = rand;
    if ($r < 0.12) {
        rotate(0);
    } elsif ($r < 0.2) {
        rotate(1);
    }

    if (rand() < 0.5) {
        $midway += killed_run(rand($run_time * 1.2));
        $killed++;
        next;
    }

    my $t0 = time;
    my ($rc, $out, $err) = incremental();
    $run_time = time - $t0;
    is($rc, 0, "step $step: incremental run exits 0") or diag($err);
    my $want = full_report();
    if (normalize($out) ne normalize($want)) {
        $mismatch++;
        fail("step $step: incremental report equals the full run");
        for (['want', $want], ['got', $out]) {
            open my $fh, '>', "$dir/$_->[0].json" or die;
            print $fh normalize($_->[1]);
            close $fh;
        }
        diag(`diff $dir/want.json $dir/got.json | head -30`);
        last;
    }
    $checked++;
}

finish_line();
my ($rc, $out) = incremental();
is($rc, 0, 'last incremental run exits 0');
is(normalize($out), normalize(full_report()),
   'after the last line is finished, the same report as a full run');
ok($checked >= 10, "$checked intermediate reports compared");
ok($midway >= 5, "$killed runs killed at random points, $midway of them "
                 . 'while running');
is($mismatch, 0, 'no intermediate report differed');

# A run that changes nothing gives the same report again.
my ($rc2, $out2) = incremental();
is($out2, $out, 'a run with no new lines reports the same');

# The state keeps per-visitor totals, not lines: with the 400 visitors it
# stays far below the log.
my $logbytes = 0;
$logbytes += length $_->{content} for @gens;
ok(-s $state < $logbytes, sprintf 'state file (%d bytes) smaller than the log (%d bytes)',
   -s $state, $logbytes);

# Lock: a second run with --no-wait exits 4 while the lock is held.
{
    use Fcntl qw(:flock);
    open my $lk, '>>', "$state.lock" or die;
    flock($lk, LOCK_EX) or die;
    my ($rc, $o, $err) = run_abstat_raw(@common, '--state', $state,
                                        '--no-wait', inputs());
    is($rc, 4, '--no-wait on a held lock: exit 4');
    like($err, qr/in use by another abstat run/, '... with a clear message');
    is($o, '', '... and no report');
    # Without --no-wait, the run waits for the lock.
    my $pid = start_run();
    usleep(300_000);
    is(waitpid($pid, WNOHANG), 0, 'without --no-wait the run waits');
    close $lk;
    waitpid $pid, 0;
    is($? >> 8, 0, '... and finishes once the lock is free');
}

# Unknown version, damage, other options.
{
    my $bad = "$dir/bad.state";
    open my $fh, '<:raw', $state or die;
    local $/;
    my $bytes = <$fh>;
    close $fh;
    my $v = $bytes;
    substr($v, 8, 4) = pack 'L', 99;
    open $fh, '>:raw', $bad or die;
    print $fh $v;
    close $fh;
    my ($rc, $o, $err) = run_abstat_raw(@common, '--state', $bad, $log);
    is($rc, 5, 'unknown state version: exit 5');
    like($err, qr/\Q$bad\E: state file version 99 is not supported/,
         '... naming the file and the version');

    my $d = $bytes;
    substr($d, 200, 1) = chr(ord(substr($d, 200, 1)) ^ 1);
    open $fh, '>:raw', $bad or die;
    print $fh $d;
    close $fh;
    ($rc, $o, $err) = run_abstat_raw(@common, '--state', $bad, $log);
    is($rc, 5, 'damaged state file: exit 5');
    like($err, qr/damaged/, '... said so');

    ($rc, $o, $err) = run_abstat_raw(@common, '--state', $state,
                                     '--experiment', 'cta', inputs());
    is($rc, 5, 'other --experiment than the state was made with: exit 5');
    like($err, qr/other --experiment, --since or --until/, '... said so');

    ($rc, $o, $err) = run_abstat_raw(@common, '--state', $state, '-');
    is($rc, 2, '--state with stdin: usage error');

    my @left = glob "$state.tmp.*";
    is(scalar(@left), 0, 'temporary files of killed runs are cleaned up');
}

# Damaged state files never crash abstat: truncated ones fail the
# checksum; with bytes changed and the checksum made valid again (python3
# xxhash, as scripts/install-deps installs), the index checks on load
# must hold. Either way: exit 0 or 5, never a signal.
SKIP: {
    open my $fh, '<:raw', $state or die;
    local $/;
    my $bytes = <$fh>;
    close $fh;
    my $damaged = "$dir/damaged.state";
    my (%codes, $signals);
    for my $i (1 .. 40) {
        my $b = $bytes;
        if ($i <= 10) {
            $b = substr($b, 0, int rand length $b);
        } else {
            for (1 .. 1 + int rand 4) {
                my $at = 40 + int rand(length($b) - 48);
                substr($b, $at, 1) = chr(int rand 256);
            }
            open my $o, '>:raw', "$damaged.body" or die;
            print $o substr($b, 0, length($b) - 8);
            close $o;
            my $sum = `/usr/bin/python3 -c 'import sys, xxhash; print(xxhash.xxh3_64_intdigest(open(sys.argv[1], "rb").read()))' '$damaged.body' 2>/dev/null`;
            skip 'python3 xxhash is not installed', 3 if $sum !~ /^\d+$/;
            chomp $sum;
            substr($b, -8) = pack 'Q<', $sum;
        }
        open my $o, '>:raw', $damaged or die;
        print $o $b;
        close $o;
        my $pid = fork // die;
        if ($pid == 0) {
            open STDOUT, '>', '/dev/null';
            open STDERR, '>', '/dev/null';
            exec $BIN, @common, '--state', $damaged, $log;
            exit 127;
        }
        waitpid $pid, 0;
        $signals++ if $? & 127;
        $codes{$? >> 8}++;
    }
    is($signals // 0, 0, 'damaged state files: no crash');
    ok((grep { $_ != 0 && $_ != 5 && $_ != 1 } keys %codes) == 0,
       'exit 0, 1 or 5 only: ' . join ' ', map { "$_ x$codes{$_}" } sort keys %codes);
    ok($codes{5}, 'damage is noticed');
}

# A file emptied and written again that starts with the same bytes (the
# same first line): shorter than what was read, so read from the start.
{
    my $f = "$dir/same.log";
    my $st = "$dir/same.state";
    my $l1 = qq({"time":"1.000","uid":"a","exposures":"e:x"}\n);
    my $l2 = qq({"time":"2.000","uid":"b","exposures":"e:y"}\n);
    open my $fh, '>', $f or die;
    print $fh $l1, $l2;
    close $fh;
    my ($rc, $o) = run_abstat_raw(@common, '--state', $st, $f);
    open $fh, '>', $f or die;
    print $fh $l1;
    close $fh;
    ($rc, $o) = run_abstat_raw(@common, '--state', $st, $f);
    like($o, qr/"lines":\s*3,/, 'copytruncate with the same first line: read again');
}

# abstat state prune --experiment NAME: the final report of NAME first
# (the same as a full run with --experiment NAME), then NAME leaves the
# state and every later run reports the rest exactly as before.
{
    use JSON::PP;
    my $js = JSON::PP->new->canonical;
    my $p = "$dir/prune.state";
    copy($state, $p) or die;
    full_report();
    my @ff = (sort(glob "$dir/full/gen*"), '--events', "$dir/full/events");
    my (undef, $fl) = run_abstat_raw(@common, '-e', 'layout', @ff);
    my (undef, $fc) = run_abstat_raw(@common, '-e', 'cta', @ff);
    # bad-line samples name the files read, which differ
    my $nosamples = sub {
        my $j = $js->decode($_[0]);
        delete $j->{input}{bad_samples};
        return $js->encode($j);
    };
    my ($rc, $out, $err) = run_abstat_raw('state', 'prune', '--state', $p,
        '--experiment', 'layout', '--format', 'json', '--bucket', 'hour');
    is($rc, 0, 'state prune: exit 0') or diag($err);
    is($nosamples->($out),
       $nosamples->($fl),
       '... its report is the full run with --experiment layout');
    like($err, qr/experiment layout pruned \(\d+ membership/, '... said on stderr');
    ok(-s $p < -s $state, sprintf '... the state shrinks (%d to %d bytes)',
       -s $state, -s $p);
    ($rc, $out) = run_abstat_raw(@common, '--state', $p, inputs());
    is($rc, 0, 'a run on the pruned state: exit 0');
    my $got = $js->decode($out);
    is(scalar(grep { $_->{name} eq 'layout' } @{$got->{experiments}}), 0,
       '... layout is gone');
    # events before exposure now count for cta's entries only
    is($nosamples->($out),
       $nosamples->($fc),
       '... the rest is the full run with --experiment cta');

    my $p2 = "$dir/prune2.state";
    copy($state, $p2) or die;
    ($rc, $out) = run_abstat_raw('state', 'prune', '--state', $p2, '-e', 'cta',
                                 '-o', "$dir/cta-final.txt");
    is($rc, 0, 'state prune --output: exit 0');
    is($out, '', '... nothing on stdout');
    like(do { local (@ARGV, $/) = "$dir/cta-final.txt"; <> }, qr/cta/,
         '... the text report in the file');

    for my $case (
        [[], qr/needs --state/, 'no --state'],
        [['--state', $p2], qr/needs one --experiment/, 'no --experiment'],
        [['--state', $p2, '-e', 'a', '-e', 'b'], qr/needs one --experiment/,
         'two --experiment'],
        [['--state', $p2, '-e', 'cta', $log], qr/reads no log files/,
         'a log file'],
        [['--state', $p2, '-e', 'nope'], qr/has no experiment 'nope'/,
         'an experiment not in the state'],
    ) {
        my ($args, $re, $what) = @$case;
        my ($rc, $o, $e) = run_abstat_raw('state', 'prune', @$args);
        is($rc, 2, "state prune, $what: exit 2");
        like($e, $re, '... with the reason');
    }
    my ($rc2, $o2, $e2) = run_abstat_raw('state', 'prune', '--state', $p2);
    like($e2, qr/^Usage: abstat state prune/m, 'usage on stderr');
    ($rc2, $o2, $e2) = run_abstat_raw('state', 'shrink');
    is($rc2, 2, 'unknown state command: exit 2');

    use Fcntl qw(:flock);
    my $before = -s $p2;
    open my $lk, '>>', "$p2.lock" or die;
    flock($lk, LOCK_EX) or die;
    ($rc2, $o2, $e2) = run_abstat_raw('state', 'prune', '--state', $p2,
                                      '-e', 'layout', '--no-wait');
    is($rc2, 4, 'state prune --no-wait on a held lock: exit 4');
    is($o2, '', '... no report');
    is(-s $p2, $before, '... the state untouched');
    close $lk;
}

# --retain: visitors never exposed and idle longer than the retention are
# forgotten. Drive-by visitors (a few lines, some with events and orders,
# never exposed) far outnumber the exposed ones, the clock jumps by hours
# now and then, and some drive-by ids come back exposed after a gap longer
# than the retention. Every metric must still equal one full run; only
# the counters of pre-entry history (visitors, events_before_exposure)
# may differ, as documented, and the state must shrink.
{
    my $rdir = "$dir/retain";
    mkdir $rdir or die;
    my ($rlog, $short, $long) = ("$rdir/access.log", "$rdir/short.state",
                                 "$rdir/long.state");
    my $t = 1764000000;
    my ($n, $ord, $all) = (0, 0, '');
    my @gone;           # drive-by ids, to come back exposed later
    my $rline = sub {
        my ($u, $exp, $events) = @_;
        my $ts = sprintf '%.3f', $t - rand(20);
        return qq({"time":"$ts","uid":"$u","exposures":"$exp",)
             . qq("events":"$events","status":"200","request_time":"0.010"}\n);
    };
    my $chunk = sub {
        my $out = '';
        for (1 .. 150) {
            $t += rand(6);
            $t += 7200 if rand() < 0.003;         # a quiet night
            my $r = rand;
            if ($r < 0.6) {
                my $u = sprintf 'd%05d', $n++;
                push @gone, [$u, $t];
                for (0 .. int rand 3) {
                    my $e = rand() < 0.3 ? 'view_item'
                          : rand() < 0.1 ? 'purchase;order=R' . ++$ord . ';revenue=7'
                          : rand() < 0.05 ? 'purchase;revenue=2' : '';
                    $out .= $rline->($u, '', $e);
                }
            } elsif ($r < 0.7 && @gone && $gone[0][1] < $t - 4000) {
                # back after more than the retention, now exposed
                my $u = (shift @gone)->[0];
                $out .= $rline->($u, 'cta:' . (rand() < 0.5 ? 'a' : 'b'), '');
                $out .= $rline->($u, '', 'add_to_cart,purchase;order=R'
                                 . ++$ord . ';revenue=' . int(5 + rand 50));
            } else {
                my $u = sprintf 'x%03d', int rand 300;
                my $v = (ord(substr($u, -1)) % 2) ? 'a' : 'b';
                my $e = rand() < 0.2 ? 'purchase;order=R' . ++$ord
                        . ';revenue=' . int(5 + rand 50) : '';
                $out .= $rline->($u, "cta:$v", $e);
            }
        }
        return $out;
    };
    # CUPED off: a visitor forgotten loses the history a full run reads
    # (--cuped-lookback longer than --retain is refused, tested below)
    my @ropts = (@common, '--late', '60', '--no-cuped');
    my $strip = sub {
        my ($j) = @_;
        $j =~ s/"(?:visitors|visitors_forgotten|events_before_exposure)":\s*\d+,?//g;
        return $j;
    };
    my ($mism, $compared, $out) = (0, 0, '');
    for my $step (1 .. 30) {
        my $c = $chunk->();
        append($rlog, $c);
        $all .= $c;
        my ($rc, $err);
        ($rc, $out, $err) = run_abstat_raw(@ropts, '--retain', '30m',
                                           '--state', $short, $rlog);
        is($rc, 0, "retain step $step: exit 0") or diag($err), last;
        my (undef, $lout) = run_abstat_raw(@ropts, '--state', $long, $rlog);
        my (undef, $full) = run_abstat_raw(@ropts, $rlog);
        $compared++;
        if ($strip->($out) ne $strip->($full)) {
            $mism++;
            diag("step $step differs from the full run");
            last;
        }
        is($lout, $full, "retain step $step: default retention, same report "
                         . 'as a full run, counters included') or last;
    }
    is($mism, 0, "--retain 30m: all $compared reports equal the full run's "
                 . 'metrics');
    my ($forgot) = $out =~ /"visitors_forgotten":\s*(\d+)/;
    ok(($forgot // 0) > 1000, 'idle visitors never exposed were forgotten: '
                              . ($forgot // 'none'));
    ok(-s $short < 0.75 * -s $long, sprintf '--retain 30m state (%d bytes) '
       . 'under 75%% of the 28-day one (orders stay) (%d bytes)', -s $short, -s $long);
    my ($seen) = $out =~ /"visitors":\s*(\d+)/;
    ok($seen - $forgot < $seen / 2, sprintf 'under half the visitors kept '
       . '(%d of %d)', $seen - $forgot, $seen);
    my (undef, $again) = run_abstat_raw(@ropts, '--retain', '30m',
                                        '--state', $short, $rlog);
    is($again, $out, 'a run with no new lines after forgetting: same report');

    my ($rc, undef, $err) = run_abstat_raw(@ropts, '--retain', '3x',
                                           '--state', $short, $rlog);
    is($rc, 2, 'bad --retain: usage error');
    like($err, qr/bad --retain '3x'/, '... naming the value');
}

# A run that finds nothing new leaves the state file as it is (the same
# inode: not even rewritten), with the same report; a run that reads new
# lines, forgets with a shorter --retain, or sees a log renamed writes it.
{
    my $ndir = "$dir/nothing-new";
    mkdir $ndir or die;
    my ($nlog, $nst) = ("$ndir/access.log", "$ndir/abstat.state");
    my $t0 = 1764100000;
    my $lines = sub {
        my ($from, $n) = @_;
        my $out = '';
        for my $i ($from .. $from + $n - 1) {
            my $u = sprintf 'n%04d', $i % 700;
            my $exp = $i % 3 ? '' : 'cta:' . ($i % 2 ? 'a' : 'b');
            my $e = $i % 11 ? '' : "purchase;order=N$i;revenue=12.5";
            $out .= sprintf qq({"time":"%.3f","uid":"%s","exposures":"%s",)
                  . qq("events":"%s","status":"200","request_time":"0.010"}\n),
                    $t0 + $i * 30, $u, $exp, $e;
        }
        return $out;
    };
    my @nopts = (@common, '--late', '60', '--no-cuped');
    append($nlog, $lines->(0, 2000));
    my ($rc, $first, $err) = run_abstat_raw(@nopts, '--state', $nst, $nlog);
    is($rc, 0, 'nothing new: the first run writes the state') or diag($err);
    my @was = stat $nst;
    my $bytes = do { local $/; open my $fh, '<:raw', $nst or die; <$fh> };
    my $again;
    ($rc, $again, $err) = run_abstat_raw(@nopts, '--state', $nst, $nlog);
    is($rc, 0, 'nothing new: exit 0');
    is($again, $first, '... the same report');
    my @now = stat $nst;
    is("$now[1] $now[7]", "$was[1] $was[7]",
       '... the state file not rewritten (same inode and size)');
    my $after = do { local $/; open my $fh, '<:raw', $nst or die; <$fh> };
    ok($after eq $bytes, '... nor changed');

    (undef, my $short) = run_abstat_raw(@nopts, '--retain', '1h',
                                        '--state', $nst, $nlog);
    @now = stat $nst;
    isnt($now[1], $was[1], 'a shorter --retain with nothing new: rewritten');
    my ($forgot) = $short =~ /"visitors_forgotten":\s*(\d+)/;
    ok(($forgot // 0) > 0, "... having forgotten visitors ($forgot)");
    @was = @now;

    append($nlog, $lines->(2000, 300));
    my ($full) = (run_abstat_raw(@nopts, '--retain', '1h', $nlog))[1];
    ($rc, $again) = run_abstat_raw(@nopts, '--retain', '1h', '--state',
                                   $nst, $nlog);
    @now = stat $nst;
    isnt($now[1], $was[1], 'new lines: the state rewritten');
    my $strip = sub {
        my ($j) = @_;
        $j =~ s/"(?:visitors|visitors_forgotten|events_before_exposure)":\s*\d+,?//g;
        return $j;
    };
    is($strip->($again), $strip->($full), '... and the report that of a full run');
    @was = @now;

    # renamed, it is the same inode: nothing to write
    move($nlog, "$nlog.1") or die;
    run_abstat_raw(@nopts, '--retain', '1h', '--state', $nst, "$nlog.1");
    @now = stat $nst;
    is($now[1], $was[1], 'a log renamed: the state not rewritten');
    gzip("$nlog.1" => "$nlog.1.gz") or die $GzipError;
    unlink "$nlog.1";
    ($rc, $again) = run_abstat_raw(@nopts, '--retain', '1h', '--state',
                                   $nst, "$nlog.1.gz");
    @now = stat $nst;
    isnt($now[1], $was[1], 'the log compressed by logrotate: the state '
                           . 'rewritten (the file entry moved)');
    is($strip->($again), $strip->($full), '... the same report');
    @was = @now;
    run_abstat_raw(@nopts, '--retain', '1h', '--state', $nst, "$nlog.1.gz");
    @now = stat $nst;
    is($now[1], $was[1], '... and not again on the next run');
}

done_testing();

#!/usr/bin/perl
# The sanitizer lane (issue 7): `make asan` builds abstat and the C unit
# tests with AddressSanitizer (leaks included) and UBSan, every report
# fatal; this runs the unit tests, then every abstat test file against
# build/asan/abstat (ABSTAT=...), then abstat over all of t/data/abstat
# with every option. Reports go to files (log_path) so that the tests'
# own stderr checks are not disturbed; any report file, or a sanitizer's
# exit code, is a failure.

use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname basename);
use File::Temp qw(tempdir);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . '/..');
chdir $root or die "$root: $!";

my $out = `make -s asan 2>&1`;
is($?, 0, 'make asan builds') or BAIL_OUT("make asan failed:\n$out");

my $logs = tempdir('ab-asan-XXXXXX', TMPDIR => 1, CLEANUP => 1);
my $EXIT = 86;          # what a sanitizer report exits with
$ENV{ASAN_OPTIONS} = "log_path=$logs/asan:detect_leaks=1:exitcode=$EXIT"
    . ':strict_string_checks=1:detect_stack_use_after_return=1'
    . ':check_initialization_order=1';
$ENV{UBSAN_OPTIONS} = "log_path=$logs/ubsan:print_stacktrace=1"
    . ":halt_on_error=1:exitcode=$EXIT";

# Report files written since the last call, with their first lines.
my %seen;
sub new_reports {
    my @new;
    for my $f (glob("$logs/*")) {
        next if $seen{$f}++;
        open my $fh, '<', $f or next;
        my @l = grep { defined } map { scalar <$fh> } 1 .. 15;
        # t/abstat-state.t SIGKILLs runs at random points, some while
        # LeakSanitizer checks at exit: its tracer, losing the process,
        # writes this line and nothing else. Any real report has ERROR.
        next if !grep({ /ERROR|runtime error/ } @l)
             && grep({ /Unable to get registers from thread/ } @l);
        push @new, basename($f) . ":\n" . join('', @l);
    }
    return @new;
}

# the unit tests
for my $bin (sort glob("$root/build/asan/unit/test_*")) {
    my $name = basename($bin);
    my %data = (test_core => 'vectors.tsv', test_hetero => 'hetero-vectors.tsv');
    my @args = $data{$name} ? ("$root/t/data/$data{$name}") : ();
    my $tap = `'$bin' @args 2>&1`;
    my $rc = $? >> 8;
    my $oks = () = $tap =~ /^ok /mg;
    my $bad = () = $tap =~ /^not ok /mg;
    ok($rc == 0 && $oks > 0 && !$bad, "unit $name under ASan+UBSan: "
        . "$oks ok, $bad not ok, exit $rc")
        or diag(join "\n", grep { /not ok|ERROR|runtime error/ } split /\n/, $tap);
    my @r = new_reports();
    ok(!@r, "unit $name: no sanitizer report") or diag(@r);
}

# every abstat test file, against the sanitized binary
$ENV{ABSTAT} = "$root/build/asan/abstat";
for my $t (sort glob("$root/t/abstat-*.t")) {
    my $name = basename($t);
    my $res = `$^X '$t' 2>&1`;
    my $rc = $? >> 8;
    my $bad = () = $res =~ /^not ok /mg;
    ok($rc == 0 && !$bad, "$name with build/asan/abstat: exit $rc, "
        . "$bad failed") or diag(join "\n", grep { /not ok|#/ }
        split /\n/, $res);
    my @r = new_reports();
    ok(!@r, "$name: no sanitizer report") or diag(@r);
}

# the reading threads under ThreadSanitizer: any race report is fatal
{
    local $ENV{ABSTAT} = "$root/build/tsan/abstat";
    local $ENV{TSAN_OPTIONS} = "halt_on_error=1:exitcode=$EXIT";
    my $res = `$^X '$root/t/abstat-threads.t' 2>&1`;
    my $rc = $? >> 8;
    my $bad = () = $res =~ /^not ok /mg;
    ok($rc == 0 && !$bad && $res !~ /ThreadSanitizer/,
        "abstat-threads.t with build/tsan/abstat: exit $rc, $bad failed")
        or diag(join "\n", grep { /not ok|#|Sanitizer/ } split /\n/, $res);
}

# all the test data at once, every option and format
my $g = 't/data/abstat/gen';
my @logs = map { "$g/$_" } qw(ab.log ab.log.1 ab.log.2-compressed ab.log.3.gz
    ab.log.4.gz mutated.log);
# sums that wrapped an int64 before issue 12 (analyze.c, state.c, trend.c)
push @logs, 't/data/abstat/overflow.log';
for my $fmt (qw(json text csv)) {
    for my $opts ([], ['--cap-revenue', '95', '--alpha', '0.01'],
        ['--events', "$g/backoffice.jsonl", '--nginx-conf',
            't/data/abstat/nginx/nginx.conf', '--baseline', 'control'],
        ['--experiment', 'checkout_cta', '--weights',
            'checkout_cta=control:50%,upsell:50%'],
        ['--bucket', 'hour', '--cap-revenue', '50'],
        ['--by', 'device', '--by', 'field:uri', '--by', 'day',
            '--sequential', '--cap-revenue', '90'])
    {
        # mutated.log is mostly bad lines, on purpose
        my @cmd = ($ENV{ABSTAT}, 'report', '-q', '--max-bad', '100',
            '--format', $fmt, @$opts, @logs);
        my $pid = open(my $fh, '-|') // die "fork: $!";
        if (!$pid) {
            open STDERR, '>', '/dev/null';
            exec @cmd or exit 127;
        }
        local $/;
        my $report = <$fh>;
        close $fh;
        my $rc = $? >> 8;
        ok($rc == 0 && length($report // '') > 100,
            "abstat @$opts --format $fmt over all the test data: exit $rc");
        my @r = new_reports();
        ok(!@r, "abstat @$opts --format $fmt: no sanitizer report")
            or diag(@r);
    }
}

done_testing;

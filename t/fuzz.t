#!/usr/bin/perl
# Runs every libFuzzer target (t/fuzz/fuzz_*.c) for a few seconds over its
# committed seed corpus, with ASan and UBSan: the seeds include every input
# that once crashed, so this is also the fuzzers' regression test.
# AB_FUZZ_SECONDS sets the time per target (default 5).
use strict;
use warnings;
use Test::More;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . '/..');
my $seconds = $ENV{AB_FUZZ_SECONDS} || 5;

system('clang --version >/dev/null 2>&1') == 0
    or plan(skip_all => 'clang is not installed (scripts/install-deps)');

my @targets = map { m{fuzz_(\w+)\.c$} ? $1 : () } glob("$root/t/fuzz/fuzz_*.c");
ok(@targets >= 3, 'fuzz targets found: ' . join(' ', @targets));

for my $t (@targets) {
    my $out = `$root/scripts/fuzz $t $seconds 2>&1`;
    my $rc = $? >> 8;
    my ($runs) = $out =~ /stat::number_of_executed_units:\s*(\d+)/;
    ok($rc == 0 && $runs && $runs > 100, "fuzz $t: ${\($runs // 0)} runs, no crash")
        or diag(join "\n", grep { /ERROR|SUMMARY|error:|crash|==/ } split /\n/, $out);
}

done_testing;

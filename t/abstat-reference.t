# abstat's JSON report against the independent scipy reference
# (scripts/abstat-reference, committed as t/data/abstat/expected-*.json),
# every number within 1e-9 relative, everything else exactly.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use AbstatTest qw(run_abstat compare_json);

my $data = 't/data/abstat';
open my $sf, '<', "$data/scenarios.txt" or die "$data/scenarios.txt: $!";

my $scenarios = 0;
while (my $line = <$sf>) {
    next if $line =~ /^#/ or $line !~ /\S/;
    my ($expected, @args) = split ' ', $line;
    my ($rc, $got, $err) = run_abstat(@args);
    is($rc, 0, "$expected: exit 0") or diag $err;
    my $want = AbstatTest::read_json("$data/$expected");
    my @diffs = compare_json($got, $want, '');
    ok(!@diffs, "$expected: report matches the reference")
        or diag join "\n", @diffs[0 .. ($#diffs < 20 ? $#diffs : 20)];
    $scenarios++;
}
cmp_ok($scenarios, '>=', 4, 'all scenarios ran');

done_testing();

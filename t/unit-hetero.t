#!/usr/bin/perl
# Cochran's Q of the segment breakdowns against statsmodels: the C test
# reads t/data/hetero-vectors.tsv, which scripts/hetero-reference makes
# from statsmodels and, where statsmodels is installed, makes again here
# to the same bytes.
use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use AbstatTest ();

chdir "$FindBin::Bin/.." or die "$!";
my $vectors = 't/data/hetero-vectors.tsv';
plan skip_all => 'build/unit/test_hetero not built (make)'
    unless -x 'build/unit/test_hetero';

my $tap = `build/unit/test_hetero $vectors`;
is($? >> 8, 0, 'the C test passes') or diag $tap;
my @not = grep { /^not ok/ } split /\n/, $tap;
is_deeply(\@not, [], 'every check of test_hetero') or diag $tap;
like($tap, qr/^ok \d+ - 4 reference cases/m, 'the four cases were read');

SKIP: {
    skip '/usr/bin/python3 with statsmodels needed', 1
        unless system('/usr/bin/python3', '-c', 'import statsmodels') == 0;
    my $now = `/usr/bin/python3 scripts/hetero-reference`;
    is($now, AbstatTest::slurp($vectors),
       "scripts/hetero-reference makes $vectors again");
}
done_testing();

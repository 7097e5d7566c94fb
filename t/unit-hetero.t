#!/usr/bin/perl
# Cochran's Q of the segment breakdowns against statsmodels: the vectors
# are made now by scripts/hetero-reference, then read by the C test.
use strict;
use warnings;
use FindBin;
use File::Temp qw(tempfile);
use Test::More;

chdir "$FindBin::Bin/.." or die "$!";
plan skip_all => 'build/unit/test_hetero not built (make)'
    unless -x 'build/unit/test_hetero';
plan skip_all => '/usr/bin/python3 with statsmodels needed'
    unless system('/usr/bin/python3', '-c', 'import statsmodels') == 0;

my ($fh, $vectors) = tempfile(UNLINK => 1);
print $fh scalar `/usr/bin/python3 scripts/hetero-reference`;
close $fh;
is($?, 0, 'scripts/hetero-reference ran');
my $tap = `build/unit/test_hetero $vectors`;
is($? >> 8, 0, 'the C test passes') or diag $tap;
my @not = grep { /^not ok/ } split /\n/, $tap;
is_deeply(\@not, [], 'every check of test_hetero') or diag $tap;
like($tap, qr/^ok \d+ - 4 reference cases/m, 'the four cases were read');
done_testing();

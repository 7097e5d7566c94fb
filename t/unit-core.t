#!/usr/bin/perl
# C unit tests of the assignment core (TAP from build/unit/test_core).
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . '/..');
my $bin  = "$root/build/unit/test_core";
if (!-x $bin) {
    print "1..0 # SKIP $bin not built (run make)\n";
    exit 0;
}
exec $bin, "$root/t/data/vectors.tsv" or die "exec $bin: $!";

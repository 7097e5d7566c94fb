#!/usr/bin/perl
# C unit tests of sticky assignments' and ab_uid_from's keyed hashes
# (TAP from build/unit/test_sticky).
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $root = abs_path(dirname(__FILE__) . '/..');
my $bin  = "$root/build/unit/test_sticky";
if (!-x $bin) {
    print "1..0 # SKIP $bin not built (run make)\n";
    exit 0;
}
exec $bin or die "exec $bin: $!";

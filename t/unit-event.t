#!/usr/bin/perl
# C unit tests of the event grammar, force lists and layer ranges.
use strict;
use warnings;
use File::Basename qw(dirname);
use Cwd qw(abs_path);

my $bin = abs_path(dirname(__FILE__) . '/..') . '/build/unit/test_event';
if (!-x $bin) {
    print "1..0 # SKIP $bin not built (run make)\n";
    exit 0;
}
exec $bin or die "exec $bin: $!";

#!/usr/bin/perl
# ab_zone across reloads (issue 12, section 2): the counter sets of
# experiments no configuration uses any more are freed, so 200 reloads that
# rename experiments in a small zone all apply and the zone's free pages
# stay flat; a configuration the zone cannot hold fails nginx -t when that
# is known, and otherwise the reload is refused with the old configuration
# serving and config_generation_rejected on the status page. The capacity
# the README states per megabyte is measured here.
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use Time::HiRes qw(time sleep);
use ABNginx;

my $t = ABNginx->new->require_module;

# NEXP experiments of NVAR variants (the last one REST when given), named
# PREFIX1.., in a zone of SIZE
sub conf {
    my ($size, $prefix, $nexp, $nvar, $rest) = @_;
    my $c = "ab_zone ab_reload $size;\n";
    for my $e (1 .. $nexp) {
        my $n = $e == $nexp && $rest ? $rest : $nvar;
        $c .= "ab_experiment $prefix$e { "
            . join(' ', map { "variant v$_ 1;" } 1 .. $n) . " }\n";
    }
    my $all = join ' ', map { "$prefix$_" } 1 .. $nexp;
    return $c . <<"EOF";
server {
    listen 127.0.0.1:%%PORT%%;
    location = /x { ab $all; return 200 "ok"; }
    location = /ab/status { ab_status; }
}
EOF
}

sub status { decode_json($t->get('/ab/status')->{body}) }

sub names { join ',', sort map { $_->{name} } @{$_[0]{experiments}} }

# the status page once it answers from a generation newer than GEN
sub wait_generation {
    my ($gen) = @_;
    my $deadline = time + 10;
    my $s;
    while (time < $deadline) {
        $t->close_connection;
        $s = status();
        return $s if ($s->{config_generation} // 0) > $gen;
        sleep 0.01;
    }
    return $s;
}

# 200 reloads, each renaming both experiments of a 32k zone (the smallest)
$t->write_config(conf('32k', 'r0x', 2, 2))->start;
my $s = status();
is(names($s), 'r0x1,r0x2', 'first configuration');
my $gen = $s->{config_generation} // 0;
my (@free, $bad);
my $t0 = time;
for my $i (1 .. 200) {
    # names of one width: their slab slots are of one size
    my $p = sprintf 'r%03dx', $i;
    $t->write_config(conf('32k', $p, 2, 2));
    kill 'HUP', $t->{pid};
    $s = wait_generation($gen);
    $gen = $s->{config_generation} // 0;
    if (names($s) ne "${p}1,${p}2") {
        $bad = "reload $i: " . names($s) . ", rejected "
            . ($s->{config_generation_rejected} // 'not reported');
        last;
    }
    push @free, $s->{slab}{pages_free};
    $t->get('/x');
}
ok(!$bad, '200 renaming reloads all applied') or diag $bad;
is($s->{config_generation_rejected}, 0, 'none rejected');
my %distinct = map { ($_ // 'none') => 1 } @free[2 .. $#free];
is(scalar(keys %distinct), 1, 'free pages in the zone flat after the '
    . 'second reload (' . join(',', sort keys %distinct) . ')');
ok(($s->{counter_sets} // 99) <= 8, 'counter sets: the running and the '
    . 'previous configuration at most (' . ($s->{counter_sets} // '?') . ')');
diag sprintf '200 reloads in %.1f s', time - $t0;

# a configuration that does not fit the zone even alone: nginx -t says so
$t->write_config(conf('32k', 'big', 10, 10));
my ($out, $rc) = $t->test_config;
isnt($rc, 0, 'nginx -t refuses 100 counter sets in 32k');
like($out, qr/ab_zone "ab_reload" of 32768 bytes is too small for 100 counter sets/,
    '... naming the zone and the need');

# one that fits alone but not next to the running one: nginx -t passes,
# the reload is refused, the old configuration serves, monitoring sees it
my $fit = 0;
for my $n (1 .. 20) {
    $t->write_config(conf('32k', 'fit', $n, 2));
    last if ($t->test_config)[1];
    $fit = $n;
}
ok($fit >= 2, "a 32k zone holds $fit experiments of 2 variants");
$t->write_config(conf('32k', 'fit', $fit, 2));
is(($t->test_config)[1], 0, "nginx -t passes them");
$fit *= 2;
my $before = status();
kill 'HUP', $t->{pid};
my $deadline = time + 10;
do { sleep 0.02; $t->close_connection; $s = status() }
    until $s->{config_generation_rejected} || time > $deadline;
is($s->{config_generation_rejected}, 1, 'config_generation_rejected: 1');
is(names($s), names($before), 'the old configuration still serves');
is($s->{last_rejected} && $s->{last_rejected}{counter_sets_needed}, $fit,
    'last_rejected says how many sets it needed');
like($t->error_log, qr/\[emerg\].*too small for $fit counter sets/,
    'error.log says why');

# after the refusal a configuration that fits applies, and nothing of the
# refused one stayed in the zone
$t->write_config(conf('32k', 'r201x', 2, 2));
kill 'HUP', $t->{pid};
$s = wait_generation($s->{config_generation});
is(names($s), 'r201x1,r201x2', 'a fitting reload applies after it');
is($s->{slab}{pages_free}, $free[-1], 'free pages as before the refusal');

# a reload that fails after the zone (here: a port that is taken) leaves
# nothing behind either: its sets are swept and it is counted as
# rejected at the next reload
{
    use IO::Socket::INET;
    my $busy = IO::Socket::INET->new(Listen => 1, LocalAddr => '127.0.0.1:0',
        ReuseAddr => 0) or die "listen: $!";
    my $port = $busy->sockport;
    my $c = conf('32k', 'r202x', 2, 2);
    $c .= "server { listen 127.0.0.1:$port; return 204; }\n";
    $t->write_config($c);
    my $gen0 = status()->{config_generation};
    kill 'HUP', $t->{pid};
    my $deadline = time + 15;
    sleep 0.2 until $t->error_log =~ /bind\(\) to 127\.0\.0\.1:$port failed/
        && $t->error_log =~ /still could not bind/ || time > $deadline;
    $t->close_connection;
    $s = status();
    is(names($s), 'r201x1,r201x2', 'a reload failing on listen keeps the old configuration');
    $t->write_config(conf('32k', 'r203x', 2, 2));
    kill 'HUP', $t->{pid};
    $s = wait_generation($gen0 + 1);
    is(names($s), 'r203x1,r203x2', 'the next reload applies');
    is($s->{config_generation_rejected}, 2, '... and counts the failed one');
    is($s->{slab}{pages_free}, $free[-1], '... whose sets are gone');
}
$t->stop;

# capacity per megabyte: the most variants (counter sets) nginx -t accepts
# in a 1m zone, experiments of 2 variants
my ($lo, $hi) = (1, 1000);
while ($lo < $hi) {
    my $mid = int(($lo + $hi + 1) / 2);
    $t->write_config(conf('1m', 'cap', $mid, 2));
    if (($t->test_config)[1] == 0) { $lo = $mid } else { $hi = $mid - 1 }
}
$lo *= 2;
diag "a 1m ab_zone holds $lo variants (counter sets)";
ok($lo >= 800, "1m holds at least 800 variants, as the README says ($lo)");

done_testing;

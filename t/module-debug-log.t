#!/usr/bin/perl
# `error_log ... debug` explains every decision, as split_clients and
# userid do (Debian's nginx is built --with-debug): the id read or minted,
# each assignment with the bucket that decided it or the reason for no
# enrollment, each exposure, each event recorded or dropped. Each line is
# checked against what the response shows, so a wrong explanation fails.

use strict;
use warnings;
use lib 't/lib';
use Test::More;
use ABNginx qw(set_cookies);

my $t = ABNginx->new->require_module;

plan(skip_all => 'nginx is not built --with-debug')
    unless `$ABNginx::NGINX -V 2>&1` =~ /--with-debug/;

$t->write_config(<<'EOF')->start;
ab_zone ab_debug 1m;
ab_holdout 50%;
ab_experiment full { variant a 50%; variant b 50%; }
ab_experiment part { traffic 50%; variant a 50%; variant b 50%; }
ab_experiment lay { layer l1 0-50%; variant a 50%; variant b 50%; }

server {
    listen 127.0.0.1:%%PORT%%;
    error_log %%DIR%%/debug.log debug;
    ab_exclude $arg_bot;
    ab_force $arg_force;
    ab_force_allow 1;

    location / {
        ab full part lay;
        return 200 "$ab_full|$ab_part|$ab_lay|$ab_holdout|$ab_uid";
    }
    location = /ab/event { ab_beacon events=signup; }
}
EOF

my $seen = 0;

# the module's debug lines written since the last call
sub debug_lines {
    my $log = $t->read_file('debug.log') // '';
    my $new = substr($log, $seen);
    $seen = length $log;
    return [map { /\] \d+#\d+: \*\d+ (ab: .*?)(?:, client: .*)?$/ ? $1 : () }
            split /\n/, $new];
}

sub has {
    my ($lines, $re) = @_;
    my @m = grep { $_ =~ $re } @$lines;
    return @m ? $m[0] : undef;
}

debug_lines();

# visitors with ids: each experiment's line agrees with the variable
my %seen_case;
for my $n (1 .. 16) {
    my $uid = sprintf 'debug-visitor-%010d', $n;
    my $r = $t->get('/', "Cookie: abid=$uid");
    my ($full, $part, $lay, $held) = split /\|/, $r->{body}, -1;
    my $l = debug_lines();

    ok(has($l, qr/^ab: visitor id "\Q$uid\E" from cookie "abid"$/),
       "$n: the id read from the cookie");

    my $h = has($l, qr/^ab: holdout bucket \d+, /) // '';
    my ($hb) = $h =~ /bucket (\d+)/;
    ok(defined $hb && ($hb < 5000) == ($held eq '1')
       && ($h =~ /, holdout 5000: held out$/ ? 1 : 0) == ($held eq '1' ? 1 : 0),
       "$n: the holdout bucket explains \$ab_holdout") or diag($h);

    if ($held eq '1') {
        $seen_case{held}++;
        ok(has($l, qr/^ab: "full" baseline, not enrolled: holdout$/)
           && $full eq 'a', "$n: held out: baseline, and why");
        ok(!has($l, qr/exposed/), "$n: held out: no exposure");
        next;
    }

    ok(has($l, qr/^ab: "full" enrolled in "\Q$full\E": variant bucket \d+$/),
       "$n: full: the variant shown, with its bucket");

    my $p = has($l, qr/^ab: "part" (enrolled|not enrolled)/) // '';
    if ($part eq '') {
        $seen_case{traffic}++;
        ok($p =~ /^ab: "part" not enrolled: traffic bucket (\d+), traffic 5000$/
           && $1 >= 5000, "$n: part: outside traffic, bucket 5000 or more")
            or diag($p);
    } else {
        ok($p =~ /^ab: "part" enrolled in "\Q$part\E"/,
           "$n: part: in traffic, the variant shown") or diag($p);
    }

    my $b = has($l, qr/^ab: layer "l1" bucket \d+, "lay" takes \[0, 5000\)$/);
    my ($bucket) = ($b // '') =~ /bucket (\d+)/;
    ok(defined $bucket, "$n: lay: its layer bucket") or next;
    if ($lay eq '') {
        $seen_case{layer}++;
        ok($bucket >= 5000
           && has($l, qr/^ab: "lay" not enrolled: outside its range of layer "l1"$/),
           "$n: lay: outside its range, and why");
    } else {
        ok($bucket < 5000 && has($l, qr/^ab: "lay" enrolled in "\Q$lay\E"/),
           "$n: lay: inside its range, the variant shown");
    }

    ok(has($l, qr/^ab: "full" exposed, the visitor's first exposure$/),
       "$n: the exposure, a first one (no marker sent)");
}
ok($seen_case{held} && $seen_case{traffic} && $seen_case{layer},
   'the ids met the holdout, the traffic and the layer cases');

# a new visitor: the minted id is the one the cookie carries
my $r = $t->get('/?x=1');
my ($ck) = set_cookies($r, 'abid');
my $l = debug_lines();
ok($ck && has($l, qr/^ab: no valid "abid" cookie, minted visitor id "\Q$ck->{value}\E"$/),
   'a minted id, as Set-Cookie sends it');

# an excluded visitor, a forced one
$r = $t->get('/?bot=1', 'Cookie: abid=debug-visitor-0000000001');
$l = debug_lines();
ok(has($l, qr/^ab: visitor excluded by ab_exclude$/)
   && has($l, qr/^ab: "full" baseline, not enrolled: excluded$/)
   && !has($l, qr/visitor id/), 'excluded: why, and no id read');

$r = $t->get('/?force=full:b', 'Cookie: abid=debug-visitor-0000000001');
$l = debug_lines();
ok(has($l, qr/^ab: ab_force pins "full" to "b"$/)
   && has($l, qr/^ab: "full" forced, not enrolled$/)
   && has($l, qr/^ab: "full" exposed, forced: not counted$/)
   && $r->{body} =~ /^b\|/, 'forced: pinned, exposed, not counted');

# events: recorded, or dropped with the reason
$r = $t->get('/ab/event?e=signup', 'Cookie: abid=debug-visitor-0000000002');
$l = debug_lines();
is($r->{status}, 204, 'beacon accepted');
ok(has($l, qr/^ab: events "signup;src=client" recorded for visitor "debug-visitor-0000000002"$/),
   'an event recorded, for whom');

$r = $t->get('/ab/event?e=other', 'Cookie: abid=debug-visitor-0000000002');
$l = debug_lines();
is($r->{status}, 400, 'beacon refused');
ok(has($l, qr/^ab: beacon event dropped: event name not allowed/),
   'an event dropped, and why');

ABNginx::finish();

#!/usr/bin/perl
# ab_uid_from: a logged-in user gets one visitor id on every device (a
# keyed hash of the user id, never the user id itself), and so the same
# variant of every experiment, the same holdout, and one new visitor in
# the live counters, not one per device; an empty value falls
# back to the cookie; another key gives other ids; $ab_uid_source and the
# shipped ab_json format's uid_source say where each id came from; the
# anonymous cookie is neither minted nor replaced for a logged-in request.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use JSON::PP;
use ABNginx qw(reference_assign set_cookies sticky_reference);

my $t = ABNginx->new->require_module->require_reference;

my $debug = `$ABNginx::NGINX -V 2>&1` =~ /--with-debug/;

my $key = $t->write_file('uid.key', "00112233445566778899aabbccddeeff\n");
my $other = $t->write_file('other.key', "ffeeddccbbaa99887766554433221100\n");
my $secret = $t->write_file('sticky.key', "0f1e2d3c4b5a69788796a5b4c3d2e1f0\n");
chmod 0600, $key, $other, $secret;

my $show = '"$ab_uid|$ab_uid_source|$ab_uid_new|$ab_e1|$ab_e3|$ab_holdout"';
my $http = <<"EOF";
include %%REPO%%/conf-examples/log-format.conf;
access_log %%DIR%%/access.log ab_json;
ab_holdout 20%;
ab_sticky_secret %%DIR%%/sticky.key;
ab_zone uid_from 4m;
ab_experiment e1 { variant a 50%; variant b 50%; }
ab_experiment e3 { salt "three ways"; variant x 1; variant y 1; variant z 1; }

server {
    listen 127.0.0.1:%%PORT%%;
    @{[$debug ? 'error_log %%DIR%%/debug.log debug;' : '']}
    ab_uid_from \$http_x_user_id key=%%DIR%%/uid.key;

    location /          { ab e1 e3; return 200 $show; }
    location /other-key { ab_uid_from \$http_x_user_id key=%%DIR%%/other.key;
                          ab e1 e3; return 200 $show; }
    location /off       { ab_uid_from off; ab e1 e3; return 200 $show; }
    location /secret    { ab_uid_from \$http_x_user_id; ab e1 e3; return 200 $show; }
    location = /status  { ab_status; }
}
EOF
$t->write_config($http, access_log => 0)->start;

# uid, source, uid_new, e1, e3, holdout of one response
sub answer {
    my ($r) = @_;
    is($r->{status}, 200, 'status 200') or return;
    return split /\|/, $r->{body}, -1;
}

my @users = map { "user-$_\@example.com" } 1 .. 24;
my (%uid_of, %seen_uid);

# Two devices per user: no cookie in common, the same X-User-Id.
for my $user (@users) {
    my @dev = ($t->visitor, $t->visitor);
    my @a = map { [answer($_->get('/', "X-User-Id: $user"))] } @dev, @dev;
    my $first = $a[0];
    is_deeply($_, $first, "$user: same id, source, variants on both devices")
        for @a[1 .. 3];
    my ($uid, $source, $new) = @$first;
    like($uid, qr/^[0-9a-f]{32}$/, "$user: the id is 32 hex digits");
    unlike($uid, qr/\Q$user\E/, "$user: the id is not the user id");
    is($source, 'user', "$user: source user");
    is($new, '', "$user: not minted");
    ok(!defined $_->cookie('abid'), "$user: no anonymous cookie minted")
        for @dev;
    ok(!$seen_uid{$uid}++, "$user: an id of its own");
    $uid_of{$user} = $first;
}

# The live counters see the derived id too: a user's second device is
# no new visitor (no marker there, but the zone has seen the id).
my $status = JSON::PP->new->decode($t->get('/status')->{body});
my ($e1) = grep { $_->{name} eq 'e1' } @{$status->{experiments}};
my ($first, $exposures) = (0, 0);
for (@{$e1->{variants}}) {
    $first += $_->{new_visitors};
    $exposures += $_->{exposures};
}
my $enrolled = grep { $uid_of{$_}[5] ne '1' } @users;
is($exposures, 4 * $enrolled, 'live counters: every exposure of e1 counted');
is($first, $enrolled, 'live counters: one new visitor per user, not per device');

# The variants are those of the derived id (the documented algorithm),
# the holdout too: every step after the id sees the derived one.
my @q = map { my $u = $uid_of{$_}[0];
    ([$u, 'e1', '100%', '50%,50%'], [$u, 'three ways', '100%', '1,1,1']) } @users;
my @ref = reference_assign(@q);
my $held = 0;
for my $user (@users) {
    my ($uid, undef, undef, $e1, $e3, $holdout) = @{$uid_of{$user}};
    my ($r1, $r3) = splice @ref, 0, 2;
    if ($holdout eq '1') {
        $held++;
        is("$e1|$e3", 'a|x', "$user: held out, baselines");
        next;
    }
    is($e1, (qw(a b))[$r1->{variant_index}], "$user: e1 as the reference");
    is($e3, (qw(x y z))[$r3->{variant_index}], "$user: e3 as the reference");
}
ok($held < @users, "some users are not held out ($held of " . @users . ')');

# Another key: other ids for the same users, as stable.
for my $user (@users[0 .. 3]) {
    my ($a) = answer($t->get('/other-key', "X-User-Id: $user"));
    my ($b) = answer($t->get('/other-key', "X-User-Id: $user"));
    like($a, qr/^[0-9a-f]{32}$/, "$user, other key: 32 hex digits");
    is($b, $a, "$user, other key: stable");
    isnt($a, $uid_of{$user}[0], "$user, other key: another id");
}

# The ids as the documented hash computes them, apart from the C: under
# the key file's key, and without key= under the key derived from
# ab_sticky_secret's (never the secret itself).
my ($derived) = sticky_reference('derive 0f1e2d3c4b5a69788796a5b4c3d2e1f0 ab:uid_from');
for my $user (@users[0 .. 5]) {
    my ($want, $want_secret, $not_raw) = sticky_reference(
        "uid 00112233445566778899aabbccddeeff $user", "uid $derived $user",
        "uid 0f1e2d3c4b5a69788796a5b4c3d2e1f0 $user");
    is($uid_of{$user}[0], $want, "$user: key=FILE: the documented id");
    my ($got) = answer($t->get('/secret', "X-User-Id: $user"));
    is($got, $want_secret, "$user: no key=: the id under ab_sticky_secret's derived key");
    isnt($got, $not_raw, "$user: ... not under the secret itself");
}

# Empty value: the cookie's id, or a new one; the login leaves the
# anonymous cookie alone, and logging out gives it back.
my $v = $t->visitor;
my ($uid, $source, $new) = answer($v->get('/'));
is("$source|$new", 'new|1', 'anonymous: a new id');
is($v->cookie('abid'), $uid, 'anonymous: the cookie holds it');
my $anon = $uid;
($uid, $source) = answer($v->get('/', 'X-User-Id: '));
is("$uid|$source", "$anon|cookie", 'empty header: the cookie id');
my $r = $v->get('/', "X-User-Id: $users[0]");
($uid, $source) = answer($r);
is("$uid|$source", "$uid_of{$users[0]}[0]|user", 'logged in: the user id');
is(scalar(set_cookies($r)), 0, 'logged in: no Set-Cookie');
($uid, $source) = answer($v->get('/'));
is("$uid|$source", "$anon|cookie", 'logged out: the cookie id again');
($uid, $source) = answer($v->get('/off', "X-User-Id: $users[0]"));
is("$uid|$source", "$anon|cookie", 'ab_uid_from off: the cookie id');

# The log: the derived ids with their source, never a user id.
$t->stop;
my @log = $t->log_json;
my %src;
$src{$_->{uid_source}}++ for @log;
is($src{user}, 4 * @users + 8 + 6 + 1,
    'log: uid_source user on every logged-in line');
is($src{new}, 1, 'log: uid_source new once');
is($src{cookie}, 3, 'log: uid_source cookie on the anonymous returns');
my %logged = map { $_->{uid} => 1 } grep { $_->{uid_source} eq 'user' } @log;
ok($logged{$uid_of{$_}[0]}, "log: $_ under the derived id") for @users[0 .. 3];
# (nginx's own debug lines show every request header: the module's do not)
my $module_debug = join "\n",
    grep { / ab: / } split /\n/, $t->read_file('debug.log') // '';
for (['access.log', $t->read_file('access.log')],
     ['error.log', $t->read_file('error.log')],
     $debug ? ['the module\'s debug lines', $module_debug] : ())
{
    my ($what, $text) = @$_;
    my @leaks = grep { index($text // '', $_) >= 0 } @users;
    is(scalar @leaks, 0, "$what: no user id in them") or diag("@leaks");
}

SKIP: {
    skip 'nginx is not built --with-debug', 2 unless $debug;
    my $d = $t->read_file('debug.log') // '';
    like($d, qr/ab: visitor id "$uid_of{$users[0]}[0]" from the user of ab_uid_from/,
        'debug: the derived id and its source');
    like($d, qr/ab: ab_uid_from is empty, the cookie's id is used/,
        'debug: the fallback');
}

ABNginx::finish();

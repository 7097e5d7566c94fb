#!/usr/bin/perl
# Sticky assignments (`sticky on;`, README "ab_experiment",
# docs/assignment.md "Sticky assignments"): a visitor keeps the variant
# stored in the sticky cookie (abid_s) when the weights change, while the
# same ids in an experiment without sticky follow the algorithm at the new
# weights (scripts/gen-vectors); a `version` bump reshuffles; forged,
# stale and oversized cookies are ignored and replaced; traffic ramps
# still enroll and remove visitors; QA pins are not stored. Cookies are
# made and read with scripts/sticky-cookie, an implementation of the
# format independent of the module's.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use File::Temp ();
use MIME::Base64 qw(decode_base64 encode_base64);
use Test::More;
use ABNginx qw(reference_assign set_cookies sticky_reference);

my $t = ABNginx->new->require_module->require_reference;

my $KEY = '3f8a1c5e7b9d2f4a6c8e0b1d3f5a7c9e';
my $WRONG_KEY = '3f8a1c5e7b9d2f4a6c8e0b1d3f5a7c9f';

my $keyfile = $t->write_file('sticky.key', "$KEY\n");
chmod 0600, $keyfile;

my ($TAG0, $TAG1, $OTHER) = sticky_reference('tag st 0', 'tag st 1', 'tag other 0');

# st is sticky; ns has st's salt and weights without sticky, so it shows
# what the algorithm gives the same visitor.
sub config {
    my (%o) = @_;
    my $w = $o{weights} || ['50%', '50%'];
    my $version = defined $o{version} ? "version $o{version};" : '';
    my $traffic = $o{traffic} || '100%';
    return <<"EOF";
log_format logged '\$ab_uid \$ab_st';
ab_sticky_secret %%DIR%%/sticky.key;
ab_experiment st {
    sticky on; $version
    traffic $traffic;
    variant a $w->[0];
    variant b $w->[1];
}
ab_experiment ns { salt st; traffic $traffic; variant a $w->[0]; variant b $w->[1]; }
ab_experiment other { sticky on; variant a 1; variant b 1; }

server {
    listen 127.0.0.1:%%PORT%%;
    error_log %%DIR%%/debug.log debug;
    ab_force \$arg_force;
    ab_force_allow 1;

    location / { ab st ns; return 200 "\$ab_uid|\$ab_st|\$ab_ns"; }
    location /both { ab st other; return 200 "\$ab_uid|\$ab_st|\$ab_other"; }
    location /late {
        add_header X-St \$ab_st;
        add_header X-Other \$ab_other;
        return 204;
    }
    location /custom {
        ab_uid_cookie vid max_age=30d secure;
        ab st;
        return 200 "\$ab_uid|\$ab_st";
    }
    location /logged {
        access_log %%DIR%%/logged.log logged;
        return 204;
    }
}
EOF
}

my @uids = map { sprintf 'sticky-visitor-%06d', $_ } 1 .. 300;

# The algorithm's variant ('' when not enrolled) of each id at these
# weights and traffic.
sub algorithm {
    my ($weights, $traffic, @ids) = @_;
    my @r = reference_assign(map { [$_, 'st', $traffic || '100%',
        join ',', @$weights] } @ids);
    return map { $_->{variant_index} < 0 ? '' : (qw(a b))[$_->{variant_index}] } @r;
}

# One request per id with these cookies: [body fields, sticky Set-Cookie
# values] each.
sub visit {
    my ($uri, $ids, $cookies) = @_;
    my @req = map {
        my $c = "abid=$ids->[$_]";
        $c .= "; abid_s=$cookies->[$_]" if $cookies && defined $cookies->[$_];
        [$uri, "Cookie: $c"]
    } 0 .. $#$ids;
    return map {
        [[split /\|/, $_->{body}, -1], [map { $_->{value} } set_cookies($_, 'abid_s')]]
    } @{$t->get_all(\@req)};
}

# The entries a cookie value holds for an id, as "TAG:INDEX,..." (or the
# reason it is invalid), read with the reference.
sub entries {
    my ($ids, $values) = @_;
    return map { s/^ok //r } sticky_reference(map {
        "read $KEY $ids->[$_] " . ($values->[$_] // '') } 0 .. $#$ids);
}

sub count { scalar grep { $_ } @_ }

$t->write_config(config())->start;

# 50/50: assigned by the algorithm, stored once
my @want50 = algorithm(['50%', '50%'], '100%', @uids);
my @r = visit('/', \@uids);
is(count(map { $r[$_][0][1] ne $want50[$_] } 0 .. $#uids), 0,
   '50/50: sticky visitors get the algorithm\'s variant');
is(count(map { $r[$_][0][2] ne $want50[$_] } 0 .. $#uids), 0,
   '50/50: and so do the same ids without sticky');
is(count(map { @{$r[$_][1]} != 1 } 0 .. $#uids), 0,
   'each gets one sticky cookie');
my @cookie = map { $_->[1][0] } @r;
my @e = entries(\@uids, \@cookie);
is(count(map { $e[$_] ne sprintf('%s:%d', $TAG0, $want50[$_] eq 'b') } 0 .. $#uids), 0,
   'holding the experiment\'s tag and the variant shown, under the key and the id');
my ($sc) = set_cookies($t->get('/', "Cookie: abid=$uids[0]", 'Cookie: x=1'), 'abid_s');
is(join(' ', map { $_ => $sc->{attrs}{lc $_} // '-' } qw(Path HttpOnly SameSite Max-Age)),
   'Path / HttpOnly 1 SameSite Lax Max-Age 31536000',
   'with the id cookie\'s attributes');

@r = visit('/', \@uids, \@cookie);
is(count(map { $r[$_][0][1] ne $want50[$_] || @{$r[$_][1]} } 0 .. $#uids), 0,
   'sent back: the same variant, no new cookie');

# another ab_uid_cookie: NAME_s beside it, with its attributes
my $custom = $t->get('/custom', "Cookie: vid=$uids[2]");
($sc) = set_cookies($custom, 'vid_s');
is(join(' ', map { $_ => $sc->{attrs}{lc $_} // '-' } qw(Max-Age Secure HttpOnly)),
   'Max-Age 2592000 Secure 1 HttpOnly -', 'ab_uid_cookie vid: the sticky cookie vid_s');
$custom = $t->get('/custom', "Cookie: vid=$uids[2]; vid_s=$sc->{value}; abid_s=x");
is(scalar(set_cookies($custom, 'vid_s')) . (split /\|/, $custom->{body})[1],
   "0$want50[2]", 'and read back from vid_s');

# the id and the sticky cookie in separate Cookie headers (HTTP/2 style)
my $two = $t->get('/', "Cookie: abid=$uids[1]", "Cookie: abid_s=$cookie[1]");
is((split /\|/, $two->{body})[1] . scalar(set_cookies($two, 'abid_s')), "$want50[1]0",
   'cookies in two Cookie headers are read in one pass');

# 80/20 with a reload: sticky visitors keep their variant, the others
# follow the algorithm; ids never seen before are assigned at 80/20
ok($t->reload(config(weights => ['80%', '20%'])), 'reload: 80/20');
my @want80 = algorithm(['80%', '20%'], '100%', @uids);
my @moved = grep { $want80[$_] ne $want50[$_] } 0 .. $#uids;
cmp_ok(scalar @moved, '>=', 50, 'the weight change moves visitors without sticky: '
       . scalar @moved);
@r = visit('/', \@uids, \@cookie);
is(count(map { $r[$_][0][1] ne $want50[$_] } 0 .. $#uids), 0,
   '80/20: every sticky visitor keeps the stored variant');
is(count(map { $r[$_][0][2] ne $want80[$_] } 0 .. $#uids), 0,
   '80/20: the same ids without sticky follow the algorithm at 80/20');
is(count(map { @{$r[$_][1]} } 0 .. $#uids), 0, 'no new sticky cookie');

my @fresh = map { sprintf 'sticky-newcomer-%06d', $_ } 1 .. 100;
my @want_fresh = algorithm(['80%', '20%'], '100%', @fresh);
@r = visit('/', \@fresh);
is(count(map { $r[$_][0][1] ne $want_fresh[$_] || @{$r[$_][1]} != 1 } 0 .. $#fresh), 0,
   'visitors new after the change: the algorithm at 80/20, stored');

# version 1: every stored entry is stale; the algorithm at the current
# weights decides, and a new cookie holds only the new tag
ok($t->reload(config(weights => ['80%', '20%'], version => 1)), 'reload: version 1');
@r = visit('/', \@uids, \@cookie);
is(count(map { $r[$_][0][1] ne $want80[$_] } 0 .. $#uids), 0,
   'version bump: the algorithm at 80/20 for everyone');
is(count(map { @{$r[$_][1]} != 1 } 0 .. $#uids), 0, 'a new sticky cookie for each');
my @cookie1 = map { $_->[1][0] } @r;
@e = entries(\@uids, \@cookie1);
is(count(map { $e[$_] ne sprintf('%s:%d', $TAG1, $want80[$_] eq 'b') } 0 .. $#uids), 0,
   'holding the tag of version 1 only');
@r = visit('/', \@uids, \@cookie1);
is(count(map { $r[$_][0][1] ne $want80[$_] || @{$r[$_][1]} } 0 .. $#uids), 0,
   'the new cookie is kept');

# Forgeries, for visitors the algorithm gives a: each cookie claims b.
# Ignored: the algorithm's a, and a valid cookie replaces it.
my @a = grep { $want80[$_] eq 'a' } 0 .. $#uids;
my ($u, $v) = @uids[@a[0, 1]];
my @made = sticky_reference(
    "make $KEY $u $TAG1:0",
    "make $WRONG_KEY $u $TAG1:1",
    "make $KEY $u $TAG1:1",
    "make $KEY $v $TAG1:1",
    "make $KEY $u $TAG0:1",
    "make $KEY $u $OTHER:1",
    "make $KEY $u $TAG1:7",
    "make $KEY $u " . join(',', "$TAG1:1", map { sprintf '%08x:1', $_ } 1 .. 16),
);

# A cookie value with its raw bytes edited by $edit, the MAC kept.
sub edit_raw {
    my ($value, $edit) = @_;
    (my $b64 = $value) =~ tr{-_}{+/};
    my $raw = decode_base64($b64);
    $edit->($raw);
    (my $out = encode_base64($raw, '')) =~ tr{+/}{-_};
    $out =~ s/=+$//;
    return $out;
}

# the variant byte of the first entry (raw byte 5) made 1
sub flip_variant { edit_raw($_[0], sub { substr($_[0], 5, 1) = chr 1 }) }

# the first entry's tag replaced: an entry of `other` moved
sub swap_tag {
    my ($value, $tag) = @_;
    return edit_raw($value, sub { substr($_[0], 1, 4) = pack 'V', hex $tag });
}

my @forged = (
    ['changed variant byte', flip_variant($made[0]), 'forged'],
    ['made with a wrong key', $made[1], 'forged'],
    ['truncated', substr($made[2], 0, length($made[2]) - 3), 'forged|malformed'],
    ['replayed from another visitor', $made[3], 'forged'],
    ['an entry of the version before', $made[4], "ok $TAG0:1"],
    ['an entry of another experiment moved to this one',
        swap_tag($made[5], $TAG1), 'forged'],
    ['a variant index past the variants', $made[6], "ok $TAG1:7"],
    ['17 entries', $made[7], 'oversized'],
    ['garbage base64', '!!not*base64!!', 'malformed'],
    ['empty', '', 'malformed'],
);

for my $f (@forged) {
    my ($name, $value, $why) = @$f;
    my ($check) = sticky_reference("read $KEY $u $value");
    like($check, qr/^(?:$why)/, "$name: the reference reads it as $why");
    my ($res) = visit('/', [$u], [$value]);
    is($res->[0][1], 'a', "$name: ignored, the algorithm's variant");
    my ($issued) = entries([$u], [$res->[1][0]]);
    is(scalar(@{$res->[1]}) . " $issued", "1 $TAG1:0", "$name: replaced by a valid cookie");
}

# a valid entry of another experiment is that one's, not this one's
my ($res) = visit('/both', [$u], [$made[5]]);
is("$res->[0][1] $res->[0][2]", 'a b', 'another experiment\'s entry: used for it only');
my ($both) = entries([$u], [$res->[1][0]]);
is($both, "$OTHER:1,$TAG1:0", 'and kept beside the new one');

# a new id: the MAC covers the id, so no cookie sent can be valid for it
my $nv = $t->get('/', "Cookie: abid_s=$cookie1[$a[0]]");
my ($new_id, $new_var) = split /\|/, $nv->{body};
my ($nc) = set_cookies($nv, 'abid_s');
my ($want_new) = algorithm(['80%', '20%'], '100%', $new_id);
is($new_var, $want_new, 'a minted id: the algorithm decides');
my ($ne) = entries([$new_id], [$nc->{value}]);
is($ne, sprintf('%s:%d', $TAG1, $want_new eq 'b'), 'and the cookie is made for it');

# QA pins win and are not stored
$res = $t->get('/?force=st:b', "Cookie: abid=$u");
is((split /\|/, $res->{body})[1] . scalar(set_cookies($res, 'abid_s')), 'b0',
   'ab_force: the pinned variant, nothing stored');
$res = $t->get('/?force=st:b', "Cookie: abid=$u; abid_s=$cookie1[$a[0]]");
is((split /\|/, $res->{body})[1] . scalar(set_cookies($res, 'abid_s')), 'b0',
   'ab_force over a stored variant: pinned, the cookie left alone');

# assigned only by add_header, after the module's header filter: still
# one Set-Cookie, with both entries
$res = $t->get('/late', "Cookie: abid=$v");
my @late = set_cookies($res, 'abid_s');
is(scalar @late, 1, 'assigned late by add_header: one sticky cookie');
my ($le) = entries([$v], [$late[0]{value}]);
my ($vo) = reference_assign([$v, 'other', '100%', '1,1']);
is(join(',', sort split /,/, $le), join(',', sort "$TAG1:0",
    "$OTHER:$vo->{variant_index}"), 'holding both experiments');

# assigned only by the access log, after the header went out: nothing
# stored, nothing set, no error
$res = $t->get('/logged', "Cookie: abid=$v");
is(scalar(set_cookies($res, 'abid_s')), 0, 'assigned by the access log: no sticky cookie');
$t->wait_log(1, 'logged.log');
is(($t->log_lines('logged.log'))[0], "$v a", 'and the algorithm\'s variant logged');

# traffic 50%: a ramp-down removes the visitors outside it, stored or
# not; back at 100% they have their stored variant again
ok($t->reload(config(weights => ['80%', '20%'], version => 1, traffic => '50%')),
   'reload: traffic 50%');
my @in = algorithm(['80%', '20%'], '50%', @uids);
@r = visit('/', \@uids, \@cookie1);
is(count(map { $r[$_][0][1] ne $in[$_] } 0 .. $#uids), 0,
   'ramp-down: visitors outside traffic are not enrolled, the others keep theirs');
my $out = count(map { $_ eq '' } @in);
cmp_ok($out, '>=', 100, "ramp-down removed $out of " . @uids);
is(count(map { @{$r[$_][1]} } 0 .. $#uids), 0, 'and the cookies are left as they are');

# the weights back to 50/50 at 100%: the version-1 entries decide
ok($t->reload(config(weights => ['50%', '50%'], version => 1)), 'reload: 50/50, traffic 100%');
@r = visit('/', \@uids, \@cookie1);
is(count(map { $r[$_][0][1] ne $want80[$_] } 0 .. $#uids), 0,
   'ramp-up: every visitor has the variant stored at version 1');

# debug lines explain each case
SKIP: {
    skip 'nginx is not built --with-debug', 4
        unless `$ABNginx::NGINX -V 2>&1` =~ /--with-debug/;
    my $log = $t->read_file('debug.log') // '';
    for my $re (qr/ab: "st" enrolled in "a": sticky: stored variant used/,
                qr/ab: sticky cookie ignored: forged/,
                qr/ab: sticky cookie ignored: malformed/,
                qr/ab: sticky cookie ignored: oversized/)
    {
        like($log, $re, "debug log: $re");
    }
}

unlike($t->error_log . ($t->read_file('debug.log') // ''),
       qr/\[(?:warn|error|crit)\]/, 'nothing logged above debug');

ABNginx::finish();

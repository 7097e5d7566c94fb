#!/usr/bin/perl
# The marker cookie behind the live SRM test (NAME_x): it lists the tags
# of the experiments a visitor was exposed to, so ab_zone counts each
# visitor's first exposure to an experiment once. Tags are checked against
# an independent computation (Python xxhash: the top 24 bits of
# XXH3_64(salt) as 6 hex digits).
use strict;
use warnings;
use lib 't/lib';
use Test::More;
use JSON::PP;
use ABNginx qw(http_request set_cookies);

my $t = ABNginx->new->require_module->require_reference;

my @exps = map { "m$_" } 1 .. 18;
my $conf = "ab_zone ab_marker 1m;\nab_uid_cookie vid;\n"
    . join('', map { "ab_experiment $_ { salt salt-$_; variant a 1; variant b 1; }\n" } @exps)
    . <<'EOF';
server {
    listen 127.0.0.1:%%PORT%%;
    location ~ ^/e/(?<n>m\d+)$ { ab m1 m2; return 200 "ok"; }
    location = /all {
        ab m1 m2 m3 m4 m5 m6 m7 m8 m9 m10 m11 m12 m13 m14 m15 m16 m17 m18;
        return 200 "ok";
    }
    location = /none { return 200 "$ab_m1"; }
    location = /ab/status { ab_status; }
}
EOF
$t->write_config($conf)->start;

my $py = $ABNginx::PYTHON;
my %tag = map {
    my $s = "salt-$_";
    chomp(my $h = `$py -c 'import xxhash,sys; print("%06x" % (xxhash.xxh3_64_intdigest(sys.argv[1].encode()) >> 40))' $s`);
    ($_ => $h)
} @exps;
like($tag{m1}, qr/^[0-9a-f]{6}$/, 'reference tag computed');

sub status {
    my $j = decode_json($t->get('/ab/status')->{body});
    my %nv;
    for my $e (@{$j->{experiments}}) {
        $nv{$e->{name}} += $_->{new_visitors} for @{$e->{variants}};
    }
    return \%nv;
}

# a first exposure sets the marker with the tags, in exposure order (a
# browser: it keeps both cookies and sends them back)
my $browser = $t->visitor;
my $r = $browser->get('/e/m1');
my ($id) = set_cookies($r, 'vid');
my ($mk) = set_cookies($r, 'vid_x');
ok($id && $mk, 'id and marker cookies set');
is($mk->{value}, "$tag{m1}.$tag{m2}", 'marker lists m1, m2 tags');
is($mk->{attrs}{path}, '/', 'marker has the id cookie\'s attributes');
ok(exists $mk->{attrs}{httponly} == exists $id->{attrs}{httponly},
    'same HttpOnly as the id cookie');
is_deeply([@{status()}{qw(m1 m2)}], [1, 1], 'one new visitor each');

# returning with the marker: exposed again, not new, no new marker
is_deeply([$browser->cookie('vid'), $browser->cookie('vid_x')],
    [$id->{value}, $mk->{value}], 'the browser keeps both');
$r = $browser->get('/e/m1');
is(scalar(set_cookies($r, 'vid_x')), 0, 'no marker re-sent');
is_deeply([@{status()}{qw(m1 m2)}], [1, 1], 'still one new visitor each');

# returning without it (cookie lost, or dropped on purpose): the marker is
# re-issued, but the zone's filter of counted (id, experiment) pairs keeps
# the visitor from counting again, however often it drops the marker
for (1 .. 200) {
    $r = $t->get('/e/m1', "Cookie: vid=$id->{value}");
}
my ($again) = set_cookies($r, 'vid_x');
is($again && $again->{value}, "$tag{m1}.$tag{m2}", 'without the marker: re-issued');
is_deeply([@{status()}{qw(m1 m2)}], [1, 1],
    '200 requests without the marker: still one new visitor each');

# a fresh id for each case below
sub fresh_id {
    my ($c) = set_cookies($t->get('/none'), 'vid');
    return $c->{value};
}

# a request without exposure never sets the marker
$r = $t->get('/none', "Cookie: vid=$id->{value}");
is(scalar(set_cookies($r, 'vid_x')), 0, 'no exposure, no marker');

# invalid markers are ignored (and replaced)
for my $bad ('zzzzzz', "$tag{m1}.", "$tag{m1}..$tag{m2}", 'A1B2C3',
    join('.', ($tag{m3}) x 17), "$tag{m1}\x01")
{
    my $before = status()->{m1};
    my $fresh = fresh_id();
    # raw: HTTP::Tiny refuses to send the control byte of the last one
    my $req = http_request('/e/m1', "Cookie: vid=$fresh; vid_x=$bad");
    $r = $t->raw($req);
    is(status()->{m1}, $before + 1, "invalid marker \"$bad\": a new visitor");
    $r = $t->raw($req);
    is(status()->{m1}, $before + 1, "... once");
    my ($m) = set_cookies($r, 'vid_x');
    is($m && $m->{value}, "$tag{m1}.$tag{m2}", "... and a fresh marker");
}

# at most 16 tags: the most recent ones are kept
$r = $t->get('/all', "Cookie: vid=$id->{value}; vid_x=$tag{m1}.$tag{m2}");
($mk) = set_cookies($r, 'vid_x');
my @got = split /\./, $mk->{value};
is(scalar @got, 16, '16 tags at most');
is_deeply([sort @got], [sort map { $tag{$_} } @exps[2 .. 17]],
    'the 16 newest tags are kept');

# an ordinary load test: 300 visitors, and one client (a load generator)
# that keeps its id cookie and never sends the marker back, 600 requests.
# It must move the live counts by one visitor, so SRM stays quiet (before
# the filter: p = 3e-19 and the alert on).
{
    my $j0 = decode_json($t->get('/ab/status')->{body});
    my $lt = fresh_id();
    $t->get('/e/m1', "Cookie: vid=$lt") for 1 .. 600;
    $t->get('/e/m1') for 1 .. 300;
    my $j = decode_json($t->get('/ab/status')->{body});
    my ($m1) = grep { $_->{name} eq 'm1' } @{$j->{experiments}};
    my ($m1a) = grep { $_->{name} eq 'm1' } @{$j0->{experiments}};
    my $nv = 0;
    $nv += $_->{new_visitors} for @{$m1->{variants}};
    $nv -= $_->{new_visitors} for @{$m1a->{variants}};
    is($nv, 301, 'load test: 300 visitors and the load generator, once');
    ok(!$m1->{srm}{alert}, "load test: SRM quiet (p = $m1->{srm}{p_value})");
}

$t->finish;

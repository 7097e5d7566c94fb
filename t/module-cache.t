#!/usr/bin/perl
# A shared cache on the edge (issue 3 "Caching", conf-examples/cache.conf):
# the Set-Cookie of a minted id is added per response, after the cache, so
# two new visitors hitting a cached page (the second a HIT) get different
# ids, in the cookie and in the log; a returning visitor's cached hit has
# no Set-Cookie; with the variant in the cache key, visitors of different
# variants never share an entry.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx qw(set_cookies header_values reference_assign);
use ABLog qw(full_log log_ok);

my $t = ABNginx->new->require_module->require_reference;

$t->write_config(full_log() . <<'EOF', access_log => 0)->start;
ab_experiment product_page { variant control 50%; variant reviews_first 50%; }

proxy_cache_path %%DIR%%/cache levels=1:2 keys_zone=ab_pages:1m
                 inactive=10m use_temp_path=off;

server {
    listen 127.0.0.1:%%PORT%%;

    # the whole page in one entry, whoever asks (the worst case for ids)
    location /plain/ {
        ab product_page;
        proxy_cache       ab_pages;
        proxy_cache_key   "$request_uri";
        proxy_cache_valid 200 10m;
        add_header        X-Cache-Status $upstream_cache_status always;
        proxy_pass        http://127.0.0.1:%%PORT_1%%;
    }

    # conf-examples/cache.conf: one entry per variant
    location /product/ {
        ab product_page;
        proxy_cache       ab_pages;
        proxy_cache_key   "$scheme$host$request_uri|$ab_product_page";
        proxy_cache_valid 200 10m;
        proxy_set_header  X-AB-Product-Page $ab_product_page;
        proxy_ignore_headers Vary;
        add_header        X-Cache-Status $upstream_cache_status always;
        add_header        Cache-Control "private, max-age=0" always;
        proxy_pass        http://127.0.0.1:%%PORT_1%%;
    }
}

# the storefront trusts the edge's X-AB-* headers (ab_strip_request_headers)
server {
    listen 127.0.0.1:%%PORT_1%%;
    access_log off;
    ab_strip_request_headers off;
    location / {
        add_header X-Rendered-For "$http_x_ab_product_page";
        return 200 "page $uri for $http_x_ab_product_page";
    }
}
EOF

sub status_of { join ',', header_values($_[0], 'x-cache-status') }
sub ids_of { map { $_->{value} } set_cookies($_[0]) }

my @expect;    # [uri, uid, uid_new]

# two new visitors, the second served from the cache
my $r1 = $t->get('/plain/shoe');
my $r2 = $t->get('/plain/shoe');
is(status_of($r1), 'MISS', 'plain: first visitor MISS');
is(status_of($r2), 'HIT', 'plain: second visitor HIT');
my @id1 = ids_of($r1);
my @id2 = ids_of($r2);
is(scalar @id1, 1, 'plain: first visitor gets one id cookie');
is(scalar @id2, 1, 'plain: second visitor gets one id cookie');
my ($id1, $id2) = ($id1[0] // '', $id2[0] // '');
like($id1, qr/^[0-9a-f]{32}$/, 'plain: first id minted');
like($id2, qr/^[0-9a-f]{32}$/, 'plain: second id minted');
isnt($id1, $id2, 'plain: different ids');
unlike($r2->{raw}, qr/\Q$id1\E/, 'plain: the HIT carries nothing of the '
    . 'first visitor\'s id');
is($r2->{body}, $r1->{body}, 'plain: the same cached page');
push @expect, ['/plain/shoe', $id1, '1'], ['/plain/shoe', $id2, '1'];

# a returning visitor on a cached page
my $r3 = $t->get('/plain/shoe', "Cookie: abid=$id1");
is(status_of($r3), 'HIT', 'plain: returning visitor HIT');
is(scalar(header_values($r3, 'set-cookie')), 0,
    'plain: returning visitor, no Set-Cookie');
push @expect, ['/plain/shoe', $id1, ''];

# a third new visitor, a fourth...: always a new id
my %seen = ($id1 => 1, $id2 => 1);
for my $i (1 .. 20) {
    my $r = $t->get('/plain/shoe');
    my @ids = ids_of($r);
    is(status_of($r) . ' ' . scalar(@ids), 'HIT 1',
        "plain: new visitor $i, HIT with one id");
    ok(@ids && !$seen{$ids[0]}++, "plain: new visitor $i, a new id");
    push @expect, ['/plain/shoe', $ids[0] // '', '1'];
}

# with the variant in the key: new visitors until two of one variant met
my (%first, $hit);
for my $i (1 .. 20) {
    my $r = $t->get('/product/42');
    my ($id) = ids_of($r);
    $id //= '';
    my ($ref) = reference_assign([$id, 'product_page', '100%', '50%,50%']);
    my $v = (qw(control reviews_first))[$ref->{variant_index}];
    push @expect, ['/product/42', $id, '1'];
    is(join(',', header_values($r, 'x-rendered-for')), $v,
        "product: visitor $i gets the page of its variant $v");
    if ($first{$v}) {
        is(status_of($r), 'HIT', "product: visitor $i ($v) HIT");
        isnt($id, $first{$v}, "product: visitor $i ($v) has its own id");
        like($id, qr/^[0-9a-f]{32}$/, "product: visitor $i id minted");
        $hit++;
        last if keys %first == 2 && $hit >= 2;
    } else {
        is(status_of($r), 'MISS', "product: first $v visitor MISS");
        $first{$v} = $id;
    }
}
ok($hit, 'product: some new visitors were served from the cache');

# a returning visitor of each variant: cached page, no Set-Cookie
for my $v (sort keys %first) {
    my $r = $t->get('/product/42', "Cookie: abid=$first{$v}");
    is(status_of($r), 'HIT', "product: returning $v visitor HIT");
    is(scalar(header_values($r, 'set-cookie')), 0,
        "product: returning $v visitor, no Set-Cookie");
    is(join(',', header_values($r, 'x-rendered-for')), $v,
        "product: returning $v visitor, its variant's page");
    push @expect, ['/product/42', $first{$v}, ''];
}

my @lines = log_ok($t, 'cache', count => scalar @expect);
is_deeply([map { "$_->{uri} $_->{uid} $_->{uid_new}" } @lines],
    [map { "@$_" } @expect], 'the log: each visitor\'s own id');

ABNginx::finish();

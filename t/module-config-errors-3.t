#!/usr/bin/perl
# Configuration errors of the issue-3 directives: nginx -t fails with the
# exact message, in the file and on the line of the offending directive
# (lines marked #HERE); the valid forms next to them pass.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx;

my $t = ABNginx->new->require_module->expect_emerg;

my $E = 'ab_experiment e { variant a 50%; variant b 50%; }';

sub server {
    my (@loc) = @_;
    return join "\n", 'server {', '    listen 127.0.0.1:%%PORT%%;',
        '    location / {', (map { "        $_" } @loc),
        '        return 200 "ok";', '    }', '}';
}

sub layered {
    my ($name, $range, $mark) = @_;
    return "ab_experiment $name {\n    layer L $range;" . ($mark ? ' #HERE' : '')
        . "\n    variant a 1;\n    variant b 1;\n}" . ($mark ? ' #HERE' : '');
}

# [ name, http text, message ]
my @errors = (
    ['header name with a space', qq{ab_event_header "a b"; #HERE},
        'invalid header name "a b" in "ab_event_header" directive'],
    ['header name with a colon', "$E\n" . server('ab_event_header X:Y; #HERE'),
        'invalid header name "X:Y" in "ab_event_header" directive'],
    ['holdout 150%', 'ab_holdout 150%; #HERE',
        'invalid percent "150%" in "ab_holdout" directive'],
    ['holdout without %', 'ab_holdout 10; #HERE',
        'invalid percent "10" in "ab_holdout" directive'],
    # the message also names the smallest size (8 pages)
    ['zone of 1k', 'ab_zone ab_live 1k; #HERE',
        'invalid zone size "1k" in "ab_zone" directive: at least '
        . 8 * `getconf PAGESIZE`],
    ['layer name with a dash', "ab_experiment e {\n    layer a-b 0-50%; #HERE\n"
        . "    variant a 1;\n    variant b 1;\n}",
        'invalid layer name "a-b" in ab_experiment "e"'],
    ['layer range backwards', "ab_experiment e {\n    layer L 50-40%; #HERE\n"
        . "    variant a 1;\n    variant b 1;\n}",
        'invalid layer range "50-40%" in ab_experiment "e"'],
    ['layer range past 100%', "ab_experiment e {\n    layer L 50-101%; #HERE\n"
        . "    variant a 1;\n    variant b 1;\n}",
        'invalid layer range "50-101%" in ab_experiment "e"'],
    ['layer range without a dash', "ab_experiment e {\n    layer L 50%; #HERE\n"
        . "    variant a 1;\n    variant b 1;\n}",
        'invalid layer range "50%" in ab_experiment "e"'],
    ['overlapping layer ranges', layered('a', '0-50%') . "\n"
        . layered('b', '40-100%', 1),
        'layer "L" range of ab_experiment "b" overlaps ab_experiment "a"'],
    ['layer range inside another', layered('a', '0-100%') . "\n"
        . layered('b', '20-30%', 1),
        'layer "L" range of ab_experiment "b" overlaps ab_experiment "a"'],
    ['duplicate if=', "$E\n" . server('ab e if=$arg_x if=$arg_y; #HERE'),
        'duplicate "if=" in "ab" directive'],
    ['no experiment named', "$E\n" . server('ab if=$arg_x; #HERE'),
        'no experiment named in "ab" directive'],
    ['duplicate ab_force', "ab_force \$arg_a;\nab_force \$arg_b; #HERE",
        '"ab_force" directive is duplicate'],
    ['duplicate ab_force in a location', "$E\n"
        . server('ab_force $arg_a;', 'ab_force $arg_b; #HERE'),
        '"ab_force" directive is duplicate'],
    # issue 12: the beacon never takes order events
    ['beacon allowing purchase', server('ab_beacon events=view,purchase; #HERE'),
        'event "purchase" in "ab_beacon" directive "events=view,purchase": '
        . "purchase and refund are accepted only from the storefront's "
        . 'response header'],
    ['beacon allowing refund', server('ab_beacon events=refund; #HERE'),
        'event "refund" in "ab_beacon" directive "events=refund": '
        . "purchase and refund are accepted only from the storefront's "
        . 'response header'],
    ['beacon event name in capitals', server('ab_beacon events=View; #HERE'),
        'invalid event name "View" in "ab_beacon" directive "events=View", '
        . 'it must be [a-z0-9_]{1,32}'],
    ['beacon empty event name', server('ab_beacon events=a,,b; #HERE'),
        'invalid event name "" in "ab_beacon" directive "events=a,,b", '
        . 'it must be [a-z0-9_]{1,32}'],
    ['beacon empty list', server('ab_beacon events=; #HERE'),
        'invalid event name "" in "ab_beacon" directive "events=", '
        . 'it must be [a-z0-9_]{1,32}'],
    ['beacon unknown parameter', server('ab_beacon names=a; #HERE'),
        'invalid parameter "names=a" in "ab_beacon" directive, it must be '
        . '"events=NAME[,NAME...]"'],
);

for my $case (@errors) {
    my ($name, $http, $msg, $todo) = @$case;
    $t->write_config($http);
    my ($out, $rc) = $t->test_config;
    my $conf = $t->conf_path;
    my $n = 0;
    my %marked = map { $n++; /#HERE/ ? ($n => 1) : () }
        split /\n/, $t->read_file('nginx.conf');

    isnt($rc, 0, "$name: nginx -t fails");
    if ($todo) {
        like($out, qr/\[emerg\] (?:\d+#\d+: )?\Q$msg\E/,
            "$name: the message starts as expected");
    }
    local $TODO = $todo;
    my @at = $out =~ /\[emerg\] (?:\d+#\d+: )?\Q$msg\E in \Q$conf\E:(\d+)$/mg;
    ok(@at && !grep({ !$marked{$_} } @at),
        "$name: the message, on the line of the directive")
        or diag("expected: $msg on line "
            . join(' or ', sort { $a <=> $b } keys %marked) . "\ngot: $out");
}

# the valid forms
my @valid = (
    ['ab_event_header names', "ab_event_header X-Shop-Event;\n$E\n"
        . server('ab_event_header off;') . "\nserver {\n"
        . "    listen 127.0.0.1:%%PORT_1%%;\n    ab_event_header X_Ev.1;\n}"],
    (map { ["holdout $_", "ab_holdout $_;"] } qw(0% 10% 100% 0.01%)),
    (map { ["zone of $_", "ab_zone ab_live $_;"] } qw(64k 1m)),
    ['layers side by side', layered('a', '0-50%') . "\n" . layered('b', '50-100%')
        . "\nab_experiment c { layer other 0-100%; variant a 1; variant b 1; }"],
    ['layer ranges with percent signs on both ends',
        "ab_experiment a { layer L 0%-40.5%; variant a 1; variant b 1; }\n"
        . "ab_experiment b { layer L 40.5%-70%; variant a 1; variant b 1; }"],
    ['ab with if=', "$E\n" . server('ab e if=$arg_x;', 'ab_force $arg_f;',
        'ab_force_allow $arg_ok;', 'ab_exclude $arg_no;')],
    ['ab_force at every level', "ab_force \$arg_a;\nab_force_allow \$arg_b;\n"
        . "$E\n" . server('ab_force $cookie_f;')],
    ['ab_status with ab_zone', "ab_zone z 64k;\n"
        . "server {\n    listen 127.0.0.1:%%PORT%%;\n"
        . "    location = /s { ab_status; }\n    location = /e { ab_beacon; }\n}"],
    ['ab_beacon events=', server('ab_beacon events=add_to_cart,view_item,a_1;')],
);

for (@valid) {
    my ($out, $rc) = $t->write_config($_->[1])->test_config;
    is($rc, 0, "valid: $_->[0]") or diag($out);
}

ABNginx::finish();

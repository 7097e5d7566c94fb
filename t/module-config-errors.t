#!/usr/bin/perl
# Configuration errors of every directive (experiments, sticky
# assignments, the id cookie, events, holdout, live counters, layers,
# targeting, QA force, beacon):
# nginx -t must fail with the exact message, in the file and on the line
# of the offending directive; the valid forms next to each error must pass.

use strict;
use warnings;
use FindBin;
use lib "$FindBin::Bin/lib";
use Test::More;
use ABNginx;

my $t = ABNginx->new->require_module->expect_emerg;

# ab_uid_from's key files: a good one, and one that is no key
my $KEY = $t->write_file('uid.key', "00112233445566778899aabbccddeeff\n");
my $NOT_KEY = $t->write_file('bad.key', "not a key\n");
chmod 0600, $KEY, $NOT_KEY;
my $DIR = $t->dir;

# An experiment block with the given body.
sub exp_block {
    my ($name, @lines) = @_;
    my $mark = $name =~ s/ #HERE$// ? ' #HERE' : '';
    return join "\n", "ab_experiment $name {$mark", (map { "    $_" } @lines),
        "}";
}

my $FOO = exp_block('foo', 'variant control 50%;', 'variant b 50%;');

# A one-line experiment, and one in a layer (#HERE on both ends when marked).
my $E = 'ab_experiment e { variant a 50%; variant b 50%; }';

sub layered {
    my ($name, $range, $mark) = @_;
    return "ab_experiment $name {\n    layer L $range;" . ($mark ? ' #HERE' : '')
        . "\n    variant a 1;\n    variant b 1;\n}" . ($mark ? ' #HERE' : '');
}

# ab_sticky_secret: a valid key (mode 0600: a key others can read is
# warned about), and one that is not 32 hex digits.
my $dir = $t->dir;
chmod 0600, $t->write_file('sticky.key', "00112233445566778899aabbccddeeff\n");
$t->write_file('short.key', "00112233445566778899aabbccddee\n");
my $SECRET = 'ab_sticky_secret %%DIR%%/sticky.key;';

# n sticky experiments s1 .. sn (#HERE on the last one's `sticky on`).
sub sticky_exps {
    my ($n, $mark) = @_;
    return join "\n", map {
        exp_block("s$_", 'sticky on;' . ($mark && $_ == $n ? ' #HERE' : ''),
            'variant a 1;', 'variant b 1;')
    } 1 .. $n;
}

# A server whose location applies the given ab directive.
sub server {
    my (@loc) = @_;
    return join "\n", 'server {', '    listen 127.0.0.1:%%PORT%%;',
        '    location / {', (map { "        $_" } @loc),
        '        return 200 "ok";', '    }', '}';
}

# [ test name, http text, message ]. "#HERE" marks the lines nginx may
# name for the error (the offending directive; for whole-block errors the
# block's first or closing line).
my $long65 = 'x' x 65;
my $long41 = 'x' x 41;
my @errors = (
    # ab
    ['unknown experiment', server('ab foo; #HERE'),
        'unknown experiment "foo" in "ab" directive'],
    ['unknown experiment next to a known one',
        "$FOO\n" . server('ab foo bar; #HERE'),
        'unknown experiment "bar" in "ab" directive'],
    ['unknown experiment at server level',
        "$FOO\nserver {\n    listen 127.0.0.1:%%PORT%%;\n    ab nope; #HERE\n}",
        'unknown experiment "nope" in "ab" directive'],
    ['off with names', "$FOO\n" . server('ab off foo; #HERE'),
        '"off" cannot be combined with experiment names in "ab" directive'],
    ['names with off', "$FOO\n" . server('ab foo off; #HERE'),
        '"off" cannot be combined with experiment names in "ab" directive'],
    ['repeated experiment', "$FOO\n" . server('ab foo foo; #HERE'),
        'experiment "foo" repeated in "ab" directive'],
    ['ab in http context', "$FOO\nab foo; #HERE",
        '"ab" directive is not allowed here'],

    # ab_experiment: names
    ['duplicate experiment differing in case (variables are caseless)',
        "$FOO\n" . exp_block('Foo #HERE', 'variant x 1;', 'variant y 1;'),
        'duplicate experiment "Foo" in "ab_experiment" directive'],
    ['duplicate experiment', "$FOO\n" . exp_block('foo #HERE',
        'variant x 1;', 'variant y 1;'),
        'duplicate experiment "foo" in "ab_experiment" directive'],
    ['invalid experiment name', exp_block('bad-name #HERE',
        'variant a 1;', 'variant b 1;'),
        'invalid experiment name "bad-name" in "ab_experiment" directive'],
    ['experiment name too long', exp_block("$long41 #HERE",
        'variant a 1;', 'variant b 1;'),
        qq{invalid experiment name "$long41" in "ab_experiment" directive}],
    ['empty experiment name', exp_block('"" #HERE',
        'variant a 1;', 'variant b 1;'),
        'invalid experiment name "" in "ab_experiment" directive'],
    ['ab_experiment in server context',
        "server {\n    listen 127.0.0.1:%%PORT%%;\n"
        . exp_block('foo #HERE', 'variant a 1;', 'variant b 1;') . "\n}",
        '"ab_experiment" directive is not allowed here'],

    # variants
    ['duplicate variant', exp_block('foo', 'variant control 50%;',
        'variant control 50%; #HERE'),
        'duplicate variant "control" in ab_experiment "foo"'],
    ['variant name with colon', exp_block('foo', 'variant a:b 50%; #HERE',
        'variant c 50%;'),
        'invalid variant name "a:b" in ab_experiment "foo"'],
    ['variant name with comma', exp_block('foo', 'variant a 50%;',
        'variant "a,b" 50%; #HERE'),
        'invalid variant name "a,b" in ab_experiment "foo"'],
    ['variant name too long', exp_block('foo', "variant $long65 50%; #HERE",
        'variant c 50%;'),
        qq{invalid variant name "$long65" in ab_experiment "foo"}],
    ['one variant', exp_block('foo #HERE', 'variant only 100%;') . ' #HERE',
        'ab_experiment "foo" needs at least 2 variants'],
    ['no variant', exp_block('foo #HERE', 'salt s;') . ' #HERE',
        'ab_experiment "foo" needs at least 2 variants'],

    # weights
    ['weights sum to 90%', exp_block('foo #HERE', 'variant a 40%;',
        'variant b 50%;') . ' #HERE',
        'variant weights of ab_experiment "foo" sum to 90.00%, not 100%'],
    ['weights sum to 100.01%', exp_block('foo #HERE', 'variant a 50.01%;',
        'variant b 50%;') . ' #HERE',
        'variant weights of ab_experiment "foo" sum to 100.01%, not 100%'],
    ['weights sum to 99.99%', exp_block('foo #HERE', 'variant a 33.33%;',
        'variant b 33.33%;', 'variant c 33.33%;') . ' #HERE',
        'variant weights of ab_experiment "foo" sum to 99.99%, not 100%'],
    ['weights sum to 150%', exp_block('foo #HERE', 'variant a 75%;',
        'variant b 75%;') . ' #HERE',
        'variant weights of ab_experiment "foo" sum to 150.00%, not 100%'],
    ['relative weights sum to zero', exp_block('foo #HERE', 'variant a 0;',
        'variant b 0;') . ' #HERE',
        'variant weights of ab_experiment "foo" sum to zero'],
    (map {
        my $w = $_;
        my $arg = $w =~ / / ? qq{"$w"} : $w;
        ["invalid weight $w", exp_block('foo', "variant a $arg; #HERE",
            'variant b 50%;'),
            qq{invalid weight "$w" of variant "a" in ab_experiment "foo"}]
    } qw(5x% -1 50.001% abc 101% 1.5 %), '5 %', '1e3'),
    ['invalid weight too large', exp_block('foo', 'variant a 1;',
        'variant b 1000001; #HERE'),
        'invalid weight "1000001" of variant "b" in ab_experiment "foo"'],
    ['mixed weights', exp_block('foo #HERE', 'variant a 50%;',
        'variant b 1; #HERE') . ' #HERE',
        'ab_experiment "foo" mixes percent and relative weights'],

    # traffic, salt, unknown directives
    (map {
        my $v = $_;
        ["invalid traffic $v", exp_block('foo', "traffic $v; #HERE",
            'variant a 50%;', 'variant b 50%;'),
            qq{invalid traffic "$v" in ab_experiment "foo"}]
    } '150%', '100.01%', 'abc', '50', '-5%', '0.001%', '1,5%'),
    ['unknown directive in block', exp_block('foo', 'bar 1; #HERE',
        'variant a 50%;', 'variant b 50%;'),
        'unknown directive "bar" in ab_experiment "foo"'],
    ['duplicate salt', exp_block('foo', 'salt one;', 'salt two; #HERE',
        'variant a 50%;', 'variant b 50%;'),
        'duplicate "salt" in ab_experiment "foo"'],
    ['duplicate traffic', exp_block('foo', 'traffic 10%;',
        'traffic 20%; #HERE', 'variant a 50%;', 'variant b 50%;'),
        'duplicate "traffic" in ab_experiment "foo"'],

    # variable collisions
    (map {
        my $n = $_;
        ["reserved name $n", exp_block("$n #HERE", 'variant a 50%;',
            'variant b 50%;') . ' #HERE',
            qq{experiment name "$n" collides with variable "\$ab_$n"}]
    } qw(uid uid_new uid_source exposures events events_invalid forced holdout)),

    # sticky, version, ab_sticky_secret
    ['sticky on without ab_sticky_secret', exp_block('foo', 'sticky on; #HERE',
        'variant a 1;', 'variant b 1;'),
        '"sticky on" in ab_experiment "foo" needs the "ab_sticky_secret" '
        . 'directive'],
    (map {
        my ($arg, $v) = ($_, $_ eq '""' ? '' : $_);
        ["invalid sticky $arg", "$SECRET\n" . exp_block('foo',
            "sticky $arg; #HERE", 'variant a 1;', 'variant b 1;'),
            qq{invalid sticky "$v" in ab_experiment "foo": "on" or "off"}]
    } qw(yes 1 ON "")),
    ['sticky without a value', exp_block('foo', 'sticky; #HERE',
        'variant a 1;', 'variant b 1;'),
        'invalid number of arguments in "sticky" of ab_experiment "foo"'],
    ['duplicate sticky', "$SECRET\n" . exp_block('foo', 'sticky on;',
        'sticky off; #HERE', 'variant a 1;', 'variant b 1;'),
        'duplicate "sticky" in ab_experiment "foo"'],
    (map {
        my ($arg, $v) = ($_, $_ eq '""' ? '' : $_);
        ["invalid version $arg", exp_block('foo', "version $arg; #HERE",
            'variant a 1;', 'variant b 1;'),
            qq{invalid version "$v" in ab_experiment "foo": 0 to 4294967295}]
    } qw(-1 abc 1.5 4294967296 99999999999999999999 1e3 "")),
    ['duplicate version', exp_block('foo', 'version 1;', 'version 2; #HERE',
        'variant a 1;', 'variant b 1;'),
        'duplicate "version" in ab_experiment "foo"'],
    ['version with two values', exp_block('foo', 'version 1 2; #HERE',
        'variant a 1;', 'variant b 1;'),
        'invalid number of arguments in "version" of ab_experiment "foo"'],
    ['17 sticky experiments', "$SECRET\n" . sticky_exps(17, 1),
        'too many sticky experiments at ab_experiment "s17": the sticky '
        . 'cookie holds 16'],
    # two names whose tags collide (found with scripts/sticky-cookie)
    ['sticky tags colliding', "$SECRET\n" . exp_block('c105528', 'sticky on;',
        'variant a 1;', 'variant b 1;') . "\n" . exp_block('c121179',
        'sticky on; #HERE', 'variant a 1;', 'variant b 1;'),
        'sticky tag of ab_experiment "c121179" equals that of ab_experiment '
        . '"c105528": change the "version" of one'],
    ['ab_sticky_secret without a file', 'ab_sticky_secret %%DIR%%/none.key; #HERE',
        qq{"ab_sticky_secret" cannot open key file "$dir/none.key" (2: No such }
        . 'file or directory)'],
    ['ab_sticky_secret with a short key', 'ab_sticky_secret %%DIR%%/short.key; #HERE',
        qq{"ab_sticky_secret" key file "$dir/short.key" must hold exactly 32 }
        . 'hex digits (openssl rand -hex 16)'],
    ['duplicate ab_sticky_secret', "$SECRET\n$SECRET #HERE",
        '"ab_sticky_secret" directive is duplicate'],
    ['ab_sticky_secret in a server',
        "server {\n    listen 127.0.0.1:%%PORT%%;\n    $SECRET #HERE\n}",
        '"ab_sticky_secret" directive is not allowed here'],

    # ab_uid_cookie
    ['cookie: invalid parameter', 'ab_uid_cookie abid foo; #HERE',
        'invalid parameter "foo" in "ab_uid_cookie" directive'],
    ['cookie: invalid parameter with value',
        'ab_uid_cookie abid expires=1d; #HERE',
        'invalid parameter "expires=1d" in "ab_uid_cookie" directive'],
    ['cookie: invalid max_age', 'ab_uid_cookie abid max_age=abc; #HERE',
        'invalid max_age "abc" in "ab_uid_cookie" directive'],
    ['cookie: empty max_age', 'ab_uid_cookie abid max_age=; #HERE',
        'invalid max_age "" in "ab_uid_cookie" directive'],
    ['cookie: invalid samesite', 'ab_uid_cookie abid samesite=foo; #HERE',
        'invalid samesite "foo" in "ab_uid_cookie" directive'],
    ['cookie: samesite=none without secure',
        'ab_uid_cookie abid samesite=none httponly; #HERE',
        '"samesite=none" requires "secure" in "ab_uid_cookie" directive'],
    ['cookie: samesite=none without secure in a location',
        server('ab_uid_cookie vid samesite=none; #HERE'),
        '"samesite=none" requires "secure" in "ab_uid_cookie" directive'],
    ['cookie: name with semicolon', 'ab_uid_cookie "a;b"; #HERE',
        'invalid cookie name "a;b" in "ab_uid_cookie" directive'],
    ['cookie: name with space', 'ab_uid_cookie "a b"; #HERE',
        'invalid cookie name "a b" in "ab_uid_cookie" directive'],
    ['cookie: name with equals sign', 'ab_uid_cookie "a=b"; #HERE',
        'invalid cookie name "a=b" in "ab_uid_cookie" directive'],
    ['cookie: empty name', 'ab_uid_cookie ""; #HERE',
        'invalid cookie name "" in "ab_uid_cookie" directive'],
    ['cookie: name too long', "ab_uid_cookie $long65; #HERE",
        qq{invalid cookie name "$long65" in "ab_uid_cookie" directive}],

    # ab_uid_from
    ['uid_from: a constant', 'ab_uid_from user7 key=%%DIR%%/uid.key; #HERE',
        '"ab_uid_from" needs a variable, not the constant "user7"'],
    ['uid_from: no key and no ab_sticky_secret',
        server('ab_uid_from $http_x_user_id; #HERE'),
        '"ab_uid_from $http_x_user_id" has no key=FILE and there is no '
        . '"ab_sticky_secret" to derive its key from'],
    ['uid_from: unknown parameter',
        'ab_uid_from $http_x_user_id secret=%%DIR%%/uid.key; #HERE',
        'invalid parameter "secret=%%DIR%%/uid.key" in "ab_uid_from" directive'
        =~ s/%%DIR%%/$DIR/r],
    ['uid_from: empty key=', 'ab_uid_from $http_x_user_id key=; #HERE',
        'invalid parameter "key=" in "ab_uid_from" directive'],
    ['uid_from: missing key file',
        'ab_uid_from $http_x_user_id key=%%DIR%%/none.key; #HERE',
        qq{"ab_uid_from" cannot open key file "$DIR/none.key" }
        . '(2: No such file or directory)'],
    ['uid_from: not a key', 'ab_uid_from $http_x_user_id key=%%DIR%%/bad.key; #HERE',
        qq{"ab_uid_from" key file "$DIR/bad.key" must hold exactly 32 hex }
        . 'digits (openssl rand -hex 16)'],
    ['uid_from: duplicate', "ab_uid_from \$http_x_a key=%%DIR%%/uid.key;\n"
        . 'ab_uid_from $http_x_b key=%%DIR%%/uid.key; #HERE',
        '"ab_uid_from" directive is duplicate'],

    # events, holdout, live counters, layers, targeting, QA force, beacon
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
    # the beacon never takes order events (README "ab_beacon")
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
    my ($name, $http, $msg) = @$case;
    $t->write_config($http);
    my ($out, $rc) = $t->test_config;
    my $conf = $t->conf_path;

    # the lines that carry a #HERE marker
    my @lines = split /\n/, $t->read_file('nginx.conf');
    my %here = map { $_ + 1 => 1 } grep { $lines[$_] =~ /#HERE/ } 0 .. $#lines;

    isnt($rc, 0, "$name: nginx -t fails");
    my ($line) = $out =~ /\[emerg\] (?:\d+#\d+: )?\Q$msg\E in \Q$conf\E:(\d+)/;
    ok(defined $line, "$name: message")
        or diag("expected: $msg\ngot: $out");
    ok(defined $line && $here{$line}, "$name: line")
        or diag('line ' . ($line // '?') . ', expected one of '
            . join(',', sort { $a <=> $b } keys %here));
}

# The valid forms must pass, so that the failures above are about the
# value named and nothing else.
my $long64 = 'x' x 64;
my @valid = (
    ['percent weights', $FOO . "\n" . server('ab foo;')],
    ['relative weights with a zero weight',
        exp_block('foo', 'variant a 0;', 'variant b 1;', 'variant c 1000000;')
        . "\n" . server('ab foo;')],
    ['percent weights with decimals and a zero',
        exp_block('foo', 'variant a 33.33%;', 'variant b 0%;',
            'variant c 33.33%;', 'variant d 33.34%;')],
    ['one-digit fraction', exp_block('foo', 'variant a 50.5%;',
        'variant b 49.5%;')],
    ['traffic forms', join "\n",
        exp_block('t0', 'traffic 0%;', 'variant a 1;', 'variant b 1;'),
        exp_block('t1', 'traffic 0.01%;', 'variant a 1;', 'variant b 1;'),
        exp_block('t2', 'traffic 100%;', 'variant a 1;', 'variant b 1;'),
        exp_block('t3', 'traffic 99.99%;', 'variant a 1;', 'variant b 1;'),
        exp_block('t4', 'traffic 30%;', 'salt "a salt:with punctuation";',
            'variant a 1;', 'variant b 1;')],
    ['longest variant name', exp_block('foo', "variant $long64 1;",
        'variant A-b_c.9 1;') . "\n" . server("ab foo;")],
    ['longest experiment name (40: $ab_<name> fits the variables hash)',
        exp_block('x' x 40, 'variant a 1;', 'variant b 1;') . "\n"
        . server('ab ' . 'x' x 40 . ';')],
    ['names near reserved ones', join "\n",
        map { exp_block($_, 'variant a 1;', 'variant b 1;') }
        qw(uid2 exposure event uidnew forced_ holdouts)],
    ['ab lists, off and inheritance', join "\n", $FOO,
        exp_block('bar', 'variant a 1;', 'variant b 1;'),
        'server {', '    listen 127.0.0.1:%%PORT%%;', '    ab foo;',
        '    location / { ab foo bar; }', '    location /x { ab off; }',
        '    location /y { location /y/z { ab bar; } }', '}'],
    ['cookie options', join "\n",
        'ab_uid_cookie abid max_age=1y path=/ samesite=lax httponly;',
        'server {', '    listen 127.0.0.1:%%PORT%%;',
        '    ab_uid_cookie vid max_age=session domain=example.com secure samesite=none;',
        '    location / { ab_uid_cookie v2 max_age=30d path=/shop samesite=strict secure httponly; }',
        '    location /b { ab_uid_cookie v3 max_age=3600; }',
        '    location /c { ab_uid_cookie "v!#$%&\'*+-.^_`|~"; }',
        '}'],
    ['variables usable', $FOO . "\n" . server(
        'add_header X-A "$ab_uid $ab_uid_new $ab_uid_source $ab_foo $ab_exposures";')],
    ['ab_uid_from at every level, and off', join "\n",
        'ab_uid_from $http_x_user_id key=%%DIR%%/uid.key;', 'server {',
        '    listen 127.0.0.1:%%PORT%%;',
        '    ab_uid_from "u:$cookie_session" key=%%DIR%%/uid.key;',
        '    location / { ab_uid_from off; }',
        '    location /b { ab_uid_from $arg_user key=uid.key; }', '}'],
    ['ab_uid_from with its key from ab_sticky_secret, given later', join "\n",
        'ab_uid_from $http_x_user_id;', 'server {',
        '    listen 127.0.0.1:%%PORT%%;',
        '    location / { ab_uid_from $arg_user; }', '}', $SECRET],
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
    ['sticky on and off, versions, the secret after the experiments',
        join "\n", exp_block('kept', 'sticky on;', 'version 4294967295;',
            'variant a 1;', 'variant b 1;'),
        exp_block('drawn', 'sticky off;', 'version 0;', 'variant a 1;',
            'variant b 1;'), $SECRET, server('ab kept drawn;')],
    ['16 sticky experiments', "$SECRET\n" . sticky_exps(16)],
    ['tags collide no more with another version', "$SECRET\n"
        . exp_block('c105528', 'sticky on;', 'variant a 1;', 'variant b 1;')
        . "\n" . exp_block('c121179', 'sticky on;', 'version 1;',
            'variant a 1;', 'variant b 1;')],
    ['ab_sticky_secret with no sticky experiment', $SECRET],
);

for my $case (@valid) {
    my ($name, $http) = @$case;
    $t->write_config($http);
    my ($out, $rc) = $t->test_config;
    is($rc, 0, "valid: $name") or diag($out);
}

ABNginx::finish();

<?php
/**
 * Installs one lab site, or checks and repairs an installed one. Run by
 * tests/wp/lab.sh as www-data (so that anything WordPress creates on disk
 * stays writable by the php -S servers):
 *
 *   php install.php --site=main --core=/usr/share/wordpress --host=127.0.0.1:8765 \
 *       --permalink=/%postname%/ --seed=260 < previous-state.json > new-state.json
 *
 * --site is the variant (main, plain ...), --core the WordPress tree of the
 * site's release.
 * --permalink=plain means plain permalinks. stdin is the JSON this script
 * printed last time (or nothing); it is how application passwords survive a
 * warm `up`: WordPress stores only their hashes, so the plain text lives in
 * the lab state and is checked against the database here. stdout is the new
 * state JSON and nothing else; anything WordPress prints goes to stderr.
 *
 * Everything below is idempotent: on an installed, untouched site it only
 * reads, apart from re-flushing rewrite rules.
 */

if ( PHP_SAPI !== 'cli' ) {
	exit( 1 );
}

$opts = getopt( '', array( 'site:', 'core:', 'host:', 'permalink:', 'seed:' ) );
foreach ( array( 'site', 'core', 'host', 'permalink' ) as $required ) {
	if ( empty( $opts[ $required ] ) ) {
		fwrite( STDERR, "install.php: --$required is required\n" );
		exit( 2 );
	}
}
$lab_site      = $opts['site'];
$lab_core      = rtrim( $opts['core'], '/' );
$lab_host      = $opts['host'];
$lab_permalink = 'plain' === $opts['permalink'] ? '' : $opts['permalink'];
$lab_seed      = isset( $opts['seed'] ) ? (int) $opts['seed'] : 0;
$lab_prev      = json_decode( (string) stream_get_contents( STDIN ), true );
$lab_prev      = is_array( $lab_prev ) ? $lab_prev : array();

// Fixed lab accounts. Lab-only passwords: they are meant to be read by tests.
const LAB_USERS = array(
	'admin'      => array( 'role' => 'administrator', 'password' => 'lab-admin-pass-1' ),
	'author'     => array( 'role' => 'author', 'password' => 'lab-author-pass-1' ),
	// Contributors write drafts but may not publish: WordPress's own refusal.
	'contributor' => array( 'role' => 'contributor', 'password' => 'lab-contributor-pass-1' ),
	'subscriber' => array( 'role' => 'subscriber', 'password' => 'lab-subscriber-pass-1' ),
);
const LAB_APP_PASSWORD_NAME = 'wp-rest-lab';
const LAB_SEED_CATEGORY     = 'pagination-seed';
const LAB_SEED_META         = '_wprest_lab_seed';

function lab_email( $login, $site ) {
	return "$login@$site.wprest-lab.test";
}

/*
 * Since 6.8 application passwords are stored as wp_fast_hash() hashes
 * ("$generic$...", BLAKE2b), which wp_check_password() does not read; core
 * checks them with WP_Application_Passwords::check_password()
 * (wp-includes/class-wp-application-passwords.php). 6.1 stores phpass hashes.
 */
function lab_app_password_matches( $password, $hash, $user_id ) {
	if ( method_exists( 'WP_Application_Passwords', 'check_password' ) ) {
		return WP_Application_Passwords::check_password( $password, $hash );
	}
	return wp_check_password( $password, $hash, $user_id );
}

function lab_log( $msg ) {
	fwrite( STDERR, "install.php: $msg\n" );
}

// Keep stdout clean for the JSON: WordPress (and PHP 8.2 deprecation
// notices in WP 6.1) may print things while loading.
ob_start();

// There is no mail server; wp_install() would otherwise try to mail the
// admin. Pluggable functions defined before wp-load.php win.
function wp_new_blog_notification( $blog_title, $blog_url, $user_id, $password ) {}
function wp_new_user_notification( $user_id, $deprecated = null, $notify = '' ) {}
function wp_mail( $to, $subject, $message, $headers = '', $attachments = array() ) {
	return true;
}

// The Debian wp-config.php picks /etc/wordpress/config-HOST.php from the Host
// header (port stripped), and WordPress guesses URLs from these.
list( $lab_ip, $lab_port ) = array_pad( explode( ':', $lab_host, 2 ), 2, '80' );
$_SERVER['HTTP_HOST']       = $lab_host;
$_SERVER['SERVER_NAME']     = $lab_ip;
$_SERVER['SERVER_PORT']     = $lab_port;
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['REQUEST_METHOD']  = 'GET';
$_SERVER['REQUEST_URI']     = '/';
$_SERVER['SCRIPT_NAME']     = '/index.php';
$_SERVER['PHP_SELF']        = '/index.php';
$_SERVER['REMOTE_ADDR']     = '127.0.0.1';

// Without this, loading an uninstalled site dies with "not installed".
// It also keeps normal plugins from loading (mu-plugins still load).
define( 'WP_INSTALLING', true );

require $lab_core . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';
require_once ABSPATH . 'wp-admin/includes/user.php';

if ( ! defined( 'WPREST_LAB_SITE' ) || WPREST_LAB_SITE !== $lab_site ) {
	lab_log( "config for $lab_host does not define WPREST_LAB_SITE='$lab_site' (wrong config file picked?)" );
	exit( 3 );
}

// wp_install() probes pretty permalinks with HTTP requests to the site,
// which is not being served yet; we set the structure ourselves anyway.
add_filter(
	'pre_http_request',
	static function () {
		return new WP_Error( 'wprest_lab_install', 'no HTTP during lab install' );
	},
	PHP_INT_MAX
);

$lab_notes     = array();
$lab_installed = false;

if ( ! is_blog_installed() ) {
	$result = wp_install(
		"WP REST lab ($lab_site)",
		'admin',
		lab_email( 'admin', $lab_site ),
		true,
		'',
		LAB_USERS['admin']['password']
	);
	$lab_installed = true;
	$lab_notes[]   = 'installed';
	// The seed posts and users are lab fixtures, not the "fresh site" that
	// the block editor would offer to set up.
	update_option( 'fresh_site', 0 );
}

// From here on behave like a normal (installed) request.
wp_installing( false );

global $wpdb, $wp_rewrite;

/*
 * Users: create or repair (role, password, e-mail). Tests may change
 * passwords or roles; the next `up` puts the fixtures back.
 */
$lab_users = array();
foreach ( LAB_USERS as $login => $spec ) {
	$user = get_user_by( 'login', $login );
	if ( ! $user ) {
		$uid = wp_insert_user(
			array(
				'user_login'   => $login,
				'user_pass'    => $spec['password'],
				'user_email'   => lab_email( $login, $lab_site ),
				'display_name' => ucfirst( $login ),
				'role'         => $spec['role'],
			)
		);
		if ( is_wp_error( $uid ) ) {
			lab_log( "cannot create user $login: " . $uid->get_error_message() );
			exit( 4 );
		}
		$user        = get_user_by( 'id', $uid );
		$lab_notes[] = "created user $login";
	} else {
		if ( ! wp_check_password( $spec['password'], $user->user_pass, $user->ID ) ) {
			wp_set_password( $spec['password'], $user->ID );
			$lab_notes[] = "reset password of $login";
		}
		if ( array( $spec['role'] ) !== array_values( $user->roles ) ) {
			$user->set_role( $spec['role'] );
			$lab_notes[] = "reset role of $login";
		}
		if ( lab_email( $login, $lab_site ) !== $user->user_email ) {
			wp_update_user( array( 'ID' => $user->ID, 'user_email' => lab_email( $login, $lab_site ) ) );
		}
		$user = get_user_by( 'id', $user->ID );
	}

	/*
	 * Application password: keep the one from the previous state if the
	 * database still has a matching hash (warm `up`); otherwise (fresh
	 * install, lost state, revoked by a test) replace ours with a new one.
	 */
	$prev_user = isset( $lab_prev['users'][ $login ] ) ? $lab_prev['users'][ $login ] : array();
	$app       = null;
	$ours      = array();
	foreach ( WP_Application_Passwords::get_user_application_passwords( $user->ID ) as $item ) {
		if ( LAB_APP_PASSWORD_NAME !== $item['name'] ) {
			continue;
		}
		$ours[] = $item;
		if ( null === $app && ! empty( $prev_user['app_password'] ) && (int) ( $prev_user['id'] ?? 0 ) === $user->ID
			&& lab_app_password_matches( str_replace( ' ', '', $prev_user['app_password'] ), $item['password'], $user->ID ) ) {
			$app = $prev_user['app_password'];
		}
	}
	if ( null === $app ) {
		foreach ( $ours as $item ) {
			WP_Application_Passwords::delete_application_password( $user->ID, $item['uuid'] );
		}
		$created = WP_Application_Passwords::create_new_application_password( $user->ID, array( 'name' => LAB_APP_PASSWORD_NAME ) );
		if ( is_wp_error( $created ) ) {
			lab_log( "cannot create application password for $login: " . $created->get_error_message() );
			exit( 5 );
		}
		$app         = WP_Application_Passwords::chunk_password( $created[0] );
		$lab_notes[] = "new application password for $login";
	}

	$lab_users[ $login ] = array(
		'id'           => $user->ID,
		'username'     => $login,
		'password'     => $spec['password'],
		'app_password' => $app,
		'email'        => $user->user_email,
		'role'         => $spec['role'],
	);
}

/*
 * Seed posts: "Seed post 1".."Seed post N" in category pagination-seed, one
 * minute apart starting 2020-01-01 so that date ordering is fixed. Each is
 * tagged with a meta key so that a repair run finds them again.
 */
if ( $lab_seed > 0 ) {
	$term = get_term_by( 'slug', LAB_SEED_CATEGORY, 'category' );
	if ( ! $term ) {
		$created = wp_insert_term( 'Pagination seed', 'category', array( 'slug' => LAB_SEED_CATEGORY ) );
		if ( is_wp_error( $created ) ) {
			lab_log( 'cannot create seed category: ' . $created->get_error_message() );
			exit( 6 );
		}
		$term_id = (int) $created['term_id'];
	} else {
		$term_id = (int) $term->term_id;
	}

	$existing = $wpdb->get_results(
		$wpdb->prepare(
			"SELECT p.ID, p.post_status, m.meta_value AS n FROM {$wpdb->posts} p
			 JOIN {$wpdb->postmeta} m ON m.post_id = p.ID AND m.meta_key = %s",
			LAB_SEED_META
		)
	);
	$have = array();
	foreach ( $existing as $row ) {
		$have[ (int) $row->n ] = $row;
	}

	$missing = array_diff( range( 1, $lab_seed ), array_keys( $have ) );
	$revive  = array();
	foreach ( $have as $n => $row ) {
		if ( $n <= $lab_seed && 'publish' !== $row->post_status ) {
			$revive[] = (int) $row->ID;
		}
	}

	if ( $missing || $revive ) {
		// Speed: one transaction, deferred term counts, and no ping/enclosure
		// bookkeeping for posts nobody will ever ping.
		wp_defer_term_counting( true );
		remove_action( 'publish_post', '_publish_post_hook', 5 );
		$admin_id = $lab_users['admin']['id'];
		wp_set_current_user( $admin_id );
		$wpdb->query( 'START TRANSACTION' );
		foreach ( $missing as $n ) {
			$date = gmdate( 'Y-m-d H:i:s', gmmktime( 0, 0, 0, 1, 1, 2020 ) + 60 * $n );
			$id   = wp_insert_post(
				array(
					'post_title'    => "Seed post $n",
					'post_name'     => "seed-post-$n",
					'post_content'  => "<!-- wp:paragraph --><p>Seed post $n of $lab_seed for pagination tests.</p><!-- /wp:paragraph -->",
					'post_status'   => 'publish',
					'post_author'   => $admin_id,
					'post_date'     => $date,
					'post_date_gmt' => $date,
					'post_category' => array( $term_id ),
					'meta_input'    => array( LAB_SEED_META => $n ),
				),
				true
			);
			if ( is_wp_error( $id ) ) {
				$wpdb->query( 'ROLLBACK' );
				lab_log( "cannot insert seed post $n: " . $id->get_error_message() );
				exit( 7 );
			}
		}
		foreach ( $revive as $id ) {
			if ( 'trash' === get_post_status( $id ) ) {
				wp_untrash_post( $id );
			}
			wp_update_post( array( 'ID' => $id, 'post_status' => 'publish' ) );
			wp_set_post_categories( $id, array( $term_id ), true );
		}
		$wpdb->query( 'COMMIT' );
		wp_defer_term_counting( false );
		wp_update_term_count_now( array( $term_id ), 'category' );
		if ( $missing ) {
			$lab_notes[] = count( $missing ) . ' seed posts created';
		}
		if ( $revive ) {
			$lab_notes[] = count( $revive ) . ' seed posts republished';
		}
	}

	// Tests that page through the category rely on the exact total; say so
	// loudly if a test left an extra published post in it.
	clean_term_cache( $term_id, 'category' );
	$total = (int) $wpdb->get_var(
		$wpdb->prepare(
			"SELECT COUNT(*) FROM {$wpdb->posts} p
			 JOIN {$wpdb->term_relationships} r ON r.object_id = p.ID
			 JOIN {$wpdb->term_taxonomy} t ON t.term_taxonomy_id = r.term_taxonomy_id
			 WHERE t.term_id = %d AND t.taxonomy = 'category' AND p.post_type = 'post' AND p.post_status = 'publish'",
			$term_id
		)
	);
	if ( $total !== $lab_seed ) {
		$lab_notes[] = "WARNING: category " . LAB_SEED_CATEGORY . " has $total published posts, expected $lab_seed";
	}
}

/*
 * Permalinks. Re-flushed on every run (cheap) so that rewrite rules added by
 * the lab's mu-plugins (custom post types, endpoints) take effect.
 */
if ( get_option( 'permalink_structure' ) !== $lab_permalink ) {
	$lab_notes[] = 'permalinks set to ' . ( '' === $lab_permalink ? 'plain' : $lab_permalink );
}
$wp_rewrite->set_permalink_structure( $lab_permalink );
flush_rewrite_rules( false );

$lab_output = ob_get_clean();
if ( '' !== trim( $lab_output ) ) {
	fwrite( STDERR, $lab_output . "\n" );
}

$state = array(
	'site'              => $lab_site,
	'wordpress'         => $GLOBALS['wp_version'],
	'installed_now'     => $lab_installed,
	'notes'             => $lab_notes,
	'home'              => home_url(),
	'environment'       => wp_get_environment_type(),
	'permalink_structure' => $lab_permalink,
	'php_rest_url'      => get_rest_url(),
	'users'             => $lab_users,
);
if ( defined( 'JWT_AUTH_SECRET_KEY' ) ) {
	$state['jwt_secret'] = JWT_AUTH_SECRET_KEY;
}
if ( $lab_seed > 0 ) {
	$state['seed_category_slug'] = LAB_SEED_CATEGORY;
	$state['seed_posts']         = $lab_seed;
}
echo json_encode( $state, JSON_PRETTY_PRINT | JSON_UNESCAPED_SLASHES ), "\n";

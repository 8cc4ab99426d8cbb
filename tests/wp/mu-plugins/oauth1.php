<?php
/**
 * Plugin Name: wp-rest lab OAuth1 (WP-API/OAuth1 0.4.x behaviour)
 * Description: Test double for "WP REST API - OAuth 1.0a Server" (WP-API/OAuth1).
 *
 * Follows WP-API/OAuth1 0.4.x: oauth-server.php (endpoints, index entry,
 * plain-text answers), lib/class-wp-rest-oauth1.php (parameters, signature,
 * tokens) and lib/class-wp-rest-oauth1-ui.php with theme/oauth1-authorize.php
 * (the authorize page on wp-login.php). Written from that behaviour for
 * wp_rest's integration tests; it is not the plugin. Lab only; never install
 * it on a real site. Active on the lab's 'apache' site only (Apache + mod_php).
 *
 * Reproduced: /oauth1/request, /oauth1/authorize, /oauth1/access (and
 * ?rest_oauth1=...), advertised in the REST index under authentication.oauth1;
 * answers form-encoded on success and the WP_Error message as plain text with
 * its status (500 when it has none) on failure; the signature over the request
 * URI on the home URL's host, $_GET or $_POST plus every parameter, names sorted
 * raw with strcmp, values rawurldecoded then rawurlencoded, key
 * "consumer_secret&token_secret", HMAC-SHA1 or HMAC-SHA256; the 15-minute
 * timestamp window; callbacks checked against the consumer's registered one
 * ('oob' only with 'oob'); determine_current_user and rest_authentication_errors
 * for REST calls signed with an access token.
 *
 * Differences: consumers live in an option (the plugin uses json_consumer
 * posts), created on first load: "oob" (callback oob) and "web" (callback
 * http://127.0.0.1:9/callback); admins read them at GET
 * /wprest-lab/v1/oauth1-consumers. Used nonces are remembered per consumer in
 * an option, so a replay is refused (the plugin writes them to user meta keyed
 * by the consumer's post id and reads post meta, so it never sees a replay).
 * Routing uses parse_request instead of rewrite rules (no rules to flush).
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( ! defined( 'WPREST_LAB_SITE' ) || 'apache' !== WPREST_LAB_SITE ) {
	return;
}

/** The lab's consumers: key => array( id, key, secret, callback, name ). */
function wprest_lab_oauth1_consumers() {
	$consumers = get_option( 'wprest_lab_oauth1_consumers' );
	if ( ! is_array( $consumers ) ) {
		$consumers = array();
		foreach ( array( 'oob' => 'oob', 'web' => 'http://127.0.0.1:9/callback' ) as $i => $callback ) {
			$key               = wp_generate_password( 12, false );
			$consumers[ $key ] = array(
				'id'       => count( $consumers ) + 1,
				'key'      => $key,
				'secret'   => wp_generate_password( 48, false ),
				'callback' => $callback,
				'name'     => 'wp-rest lab ' . $i,
			);
		}
		update_option( 'wprest_lab_oauth1_consumers', $consumers, false );
	}
	return $consumers;
}

function wprest_lab_oauth1_consumer_by_key( $key ) {
	$consumers = wprest_lab_oauth1_consumers();
	if ( ! is_string( $key ) || ! isset( $consumers[ $key ] ) ) {
		return new WP_Error( 'json_consumer_notfound', __( 'Consumer Key is invalid' ), array( 'status' => 401 ) );
	}
	return $consumers[ $key ];
}

function wprest_lab_oauth1_consumer_by_id( $id ) {
	foreach ( wprest_lab_oauth1_consumers() as $consumer ) {
		if ( (string) $consumer['id'] === (string) $id ) {
			return $consumer;
		}
	}
	return null;
}

/** WP_REST_OAuth1::urlencode_rfc3986(). */
function wprest_lab_oauth1_encode( $value ) {
	return str_replace( array( '+', '%7E' ), array( ' ', '~' ), rawurlencode( $value ) );
}

/**
 * WP_REST_OAuth1::get_authorization_required_code(). While determine_current_user
 * runs, nobody is logged in yet and is_user_logged_in() would ask the filter
 * again (endless recursion), so it is 401 then.
 */
function wprest_lab_oauth1_code() {
	return ! empty( $GLOBALS['wprest_lab_oauth1_determining'] ) || ! is_user_logged_in() ? 401 : 403;
}

/** WP_REST_OAuth1::parse_header(). */
function wprest_lab_oauth1_parse_header( $header ) {
	if ( substr( $header, 0, 6 ) !== 'OAuth ' ) {
		return false;
	}
	$params = array();
	if ( preg_match_all( '/(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))/', $header, $matches ) ) {
		foreach ( $matches[1] as $i => $h ) {
			$params[ $h ] = urldecode( empty( $matches[3][ $i ] ) ? $matches[4][ $i ] : $matches[3][ $i ] );
		}
	}
	return $params;
}

function wprest_lab_oauth1_authorization_header() {
	if ( ! empty( $_SERVER['HTTP_AUTHORIZATION'] ) ) {
		return wp_unslash( $_SERVER['HTTP_AUTHORIZATION'] );
	}
	if ( function_exists( 'getallheaders' ) ) {
		foreach ( getallheaders() as $key => $value ) {
			if ( strtolower( $key ) === 'authorization' ) {
				return $value;
			}
		}
	}
	return null;
}

/** WP_REST_OAuth1::get_parameters(): null when no OAuth parameter is present at all. */
function wprest_lab_oauth1_parameters( $require_token = true, $extra = array() ) {
	$params = wp_unslash( array_merge( $_GET, $_POST ) );
	$header = wprest_lab_oauth1_authorization_header();
	if ( ! empty( $header ) ) {
		$header_params = wprest_lab_oauth1_parse_header( trim( $header ) );
		if ( ! empty( $header_params ) ) {
			$params = array_merge( $params, $header_params );
		}
	}
	$names = array( 'oauth_consumer_key', 'oauth_timestamp', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method' );
	if ( $require_token ) {
		$names[] = 'oauth_token';
	}
	$names    = array_merge( $names, (array) $extra );
	$errors   = array();
	$have_one = false;
	foreach ( $names as $name ) {
		if ( empty( $params[ $name ] ) ) {
			$errors[] = $name;
		} else {
			$have_one = true;
		}
	}
	if ( ! $have_one ) {
		return null;
	}
	if ( ! empty( $errors ) ) {
		$message = sprintf( 1 === count( $errors ) ? 'Missing OAuth parameter %s' : 'Missing OAuth parameters %s', implode( ', ', $errors ) );
		return new WP_Error( 'json_oauth1_missing_parameter', $message, array( 'status' => wprest_lab_oauth1_code() ) );
	}
	return $params;
}

/** WP_REST_OAuth1::join_with_equals_sign(). */
function wprest_lab_oauth1_join( $params, $query_params = array(), $key = '' ) {
	foreach ( $params as $param_key => $param_value ) {
		if ( $key ) {
			$param_key = $key . '%5B' . $param_key . '%5D';
		}
		if ( is_array( $param_value ) ) {
			$query_params = wprest_lab_oauth1_join( $param_value, $query_params, $param_key );
		} else {
			$query_params[] = wprest_lab_oauth1_encode( $param_key . '=' . $param_value );
		}
	}
	return $query_params;
}

/** WP_REST_OAuth1::check_oauth_signature(). */
function wprest_lab_oauth1_check_signature( $consumer, $oauth_params, $token = null ) {
	$http_method = strtoupper( $_SERVER['REQUEST_METHOD'] );
	switch ( $http_method ) {
		case 'GET':
		case 'HEAD':
		case 'DELETE':
			$params = wp_unslash( $_GET );
			break;
		case 'POST':
		case 'PUT':
			$params = wp_unslash( $_POST );
			break;
		default:
			return new WP_Error( 'rest_oauth1_unknown_http_method', sprintf( 'Unknown http method: %s', $http_method ), array( 'status' => wprest_lab_oauth1_code() ) );
	}
	$params       = array_merge( $params, $oauth_params );
	$request_path = parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH );
	$wp_base      = get_home_url( null, '/', 'relative' );
	if ( substr( $request_path, 0, strlen( $wp_base ) ) === $wp_base ) {
		$request_path = substr( $request_path, strlen( $wp_base ) );
	}
	$base_request_uri   = wprest_lab_oauth1_encode( get_home_url( null, $request_path ) );
	$consumer_signature = rawurldecode( $params['oauth_signature'] );
	unset( $params['oauth_signature'] );
	array_walk_recursive(
		$params,
		static function ( &$value, $key ) {
			$value = wprest_lab_oauth1_encode( rawurldecode( $value ) );
		}
	);
	uksort( $params, 'strcmp' );
	$string_to_sign = $http_method . '&' . $base_request_uri . '&' . implode( '%26', wprest_lab_oauth1_join( $params ) );
	$key            = $consumer['secret'] . '&' . ( $token ? $token['secret'] : '' );
	$algorithms     = array( 'HMAC-SHA1' => 'sha1', 'HMAC-SHA256' => 'sha256' );
	if ( ! isset( $algorithms[ $params['oauth_signature_method'] ] ) ) {
		return new WP_Error( 'json_oauth1_invalid_signature_method', 'Signature method is invalid', array( 'status' => wprest_lab_oauth1_code() ) );
	}
	$signature = base64_encode( hash_hmac( $algorithms[ $params['oauth_signature_method'] ], $string_to_sign, $key, true ) );
	if ( ! hash_equals( $signature, $consumer_signature ) ) {
		return new WP_Error( 'json_oauth1_signature_mismatch', 'OAuth signature does not match', array( 'status' => wprest_lab_oauth1_code() ) );
	}
	return true;
}

/** WP_REST_OAuth1::check_oauth_timestamp_and_nonce(), with the nonces kept per consumer. */
function wprest_lab_oauth1_check_nonce( $consumer, $timestamp, $nonce ) {
	$window = 15 * MINUTE_IN_SECONDS;
	if ( $timestamp < time() - $window || $timestamp > time() + $window ) {
		return new WP_Error( 'json_oauth1_invalid_timestamp', 'Invalid timestamp', array( 'status' => wprest_lab_oauth1_code() ) );
	}
	$option = 'wprest_lab_oauth1_nonces_' . $consumer['id'];
	$used   = (array) get_option( $option, array() );
	if ( in_array( $nonce, $used, true ) ) {
		return new WP_Error( 'json_oauth1_nonce_already_used', 'Invalid nonce - nonce has already been used', array( 'status' => wprest_lab_oauth1_code() ) );
	}
	$used[] = $nonce;
	update_option( $option, array_slice( $used, -500 ), false );
	return true;
}

function wprest_lab_oauth1_request_token( $key ) {
	$data = get_option( 'oauth1_request_' . $key, null );
	if ( empty( $data ) ) {
		return new WP_Error( 'json_oauth1_invalid_token', 'Invalid token', array( 'status' => 400 ) );
	}
	if ( $data['expiration'] < time() ) {
		delete_option( 'oauth1_request_' . $key );
		return new WP_Error( 'json_oauth1_expired_token', 'OAuth request token has expired', array( 'status' => wprest_lab_oauth1_code() ) );
	}
	return $data;
}

/** WP_REST_OAuth1::check_callback(): scheme, host, port and path must equal the registered ones. */
function wprest_lab_oauth1_check_callback( $url, $consumer_id ) {
	$consumer = wprest_lab_oauth1_consumer_by_id( $consumer_id );
	if ( empty( $consumer['callback'] ) ) {
		return false;
	}
	$registered = $consumer['callback'];
	if ( 'oob' === $registered || 'oob' === $url ) {
		return $registered === $url;
	}
	$registered = wp_parse_url( $registered );
	$supplied   = wp_parse_url( $url );
	if ( ! $supplied || empty( $supplied['host'] ) || isset( $supplied['user'] ) || isset( $supplied['pass'] ) ) {
		return false;
	}
	foreach ( array( 'scheme', 'host', 'port', 'user', 'pass', 'path' ) as $part ) {
		if ( ( $registered[ $part ] ?? null ) !== ( $supplied[ $part ] ?? null ) ) {
			return false;
		}
	}
	return true;
}

function wprest_lab_oauth1_set_callback( $key, $callback ) {
	$token = wprest_lab_oauth1_request_token( $key );
	if ( is_wp_error( $token ) ) {
		return $token;
	}
	if ( ! wprest_lab_oauth1_check_callback( $callback, $token['consumer'] ) ) {
		return new WP_Error( 'json_oauth1_invalid_callback', 'Callback URL is invalid' );
	}
	$token['callback'] = $callback;
	update_option( 'oauth1_request_' . $key, $token );
	return null;
}

/** WP_REST_OAuth1::generate_request_token(). */
function wprest_lab_oauth1_generate_request_token( $params ) {
	$consumer = wprest_lab_oauth1_consumer_by_key( $params['oauth_consumer_key'] );
	if ( is_wp_error( $consumer ) ) {
		return $consumer;
	}
	$result = wprest_lab_oauth1_check_signature( $consumer, $params );
	if ( is_wp_error( $result ) ) {
		return $result;
	}
	$error = wprest_lab_oauth1_check_nonce( $consumer, $params['oauth_timestamp'], $params['oauth_nonce'] );
	if ( is_wp_error( $error ) ) {
		return $error;
	}
	$key  = wp_generate_password( 24, false );
	$data = array(
		'key'        => $key,
		'secret'     => wp_generate_password( 48, false ),
		'consumer'   => $consumer['id'],
		'authorized' => false,
		'expiration' => time() + 24 * HOUR_IN_SECONDS,
		'callback'   => null,
		'verifier'   => null,
		'user'       => null,
	);
	add_option( 'oauth1_request_' . $key, $data, null, 'no' );
	if ( ! empty( $params['oauth_callback'] ) ) {
		$error = wprest_lab_oauth1_set_callback( $key, $params['oauth_callback'] );
		if ( $error ) {
			return $error;
		}
	}
	return array(
		'oauth_token'              => wprest_lab_oauth1_encode( $key ),
		'oauth_token_secret'       => wprest_lab_oauth1_encode( $data['secret'] ),
		'oauth_callback_confirmed' => 'true',
	);
}

/** WP_REST_OAuth1::generate_access_token(). */
function wprest_lab_oauth1_generate_access_token( $params ) {
	$consumer = wprest_lab_oauth1_consumer_by_key( $params['oauth_consumer_key'] );
	if ( is_wp_error( $consumer ) ) {
		return $consumer;
	}
	$token = wprest_lab_oauth1_request_token( $params['oauth_token'] );
	if ( is_wp_error( $token ) ) {
		return $token;
	}
	$result = wprest_lab_oauth1_check_signature( $consumer, $params, $token );
	if ( is_wp_error( $result ) ) {
		return $result;
	}
	$error = wprest_lab_oauth1_check_nonce( $consumer, $params['oauth_timestamp'], $params['oauth_nonce'] );
	if ( is_wp_error( $error ) ) {
		return $error;
	}
	if ( true !== $token['authorized'] ) {
		return new WP_Error( 'json_oauth1_unauthorized_token', 'OAuth token has not been authorized', array( 'status' => wprest_lab_oauth1_code() ) );
	}
	if ( ! hash_equals( (string) $params['oauth_verifier'], (string) $token['verifier'] ) ) {
		return new WP_Error( 'json_oauth1_invalid_verifier', 'OAuth verifier does not match', array( 'status' => 400 ) );
	}
	$key  = wp_generate_password( 24, false );
	$data = array(
		'key'      => $key,
		'secret'   => wp_generate_password( 48, false ),
		'consumer' => $consumer['id'],
		'user'     => $token['user'],
	);
	add_option( 'oauth1_access_' . $key, $data, null, 'no' );
	delete_option( 'oauth1_request_' . $params['oauth_token'] );
	return array(
		'oauth_token'        => wprest_lab_oauth1_encode( $key ),
		'oauth_token_secret' => wprest_lab_oauth1_encode( $data['secret'] ),
	);
}

/** WP_REST_OAuth1::authenticate() and get_authentication_errors(). */
$GLOBALS['wprest_lab_oauth1_status'] = null;

add_action(
	'init',
	static function () {
		add_filter(
			'determine_current_user',
			static function ( $user ) {
				if ( ! empty( $user ) || ! empty( $GLOBALS['wprest_lab_oauth1_determining'] ) ) {
					return $user;
				}
				$GLOBALS['wprest_lab_oauth1_determining'] = true;
				$result                                   = wprest_lab_oauth1_authenticate();
				$GLOBALS['wprest_lab_oauth1_determining'] = false;
				return $result;
			}
		);
		add_filter(
			'rest_authentication_errors',
			static function ( $value ) {
				return null !== $value ? $value : $GLOBALS['wprest_lab_oauth1_status'];
			}
		);
	}
);

/** WP_REST_OAuth1::authenticate(): the user of a request signed with an access token. */
function wprest_lab_oauth1_authenticate() {
	$params = wprest_lab_oauth1_parameters();
	if ( ! is_array( $params ) ) {
		$GLOBALS['wprest_lab_oauth1_status'] = $params;
		return null;
	}
	$token = get_option( 'oauth1_access_' . $params['oauth_token'], null );
	if ( empty( $token ) ) {
		// The plugin passes null on to check_token() here and fails on the array access.
		$GLOBALS['wprest_lab_oauth1_status'] = new WP_Error( 'json_oauth1_invalid_token', 'Invalid token', array( 'status' => 401 ) );
		return null;
	}
	$consumer = wprest_lab_oauth1_consumer_by_key( $params['oauth_consumer_key'] );
	if ( is_wp_error( $consumer ) ) {
		$GLOBALS['wprest_lab_oauth1_status'] = $consumer;
		return null;
	}
	if ( ! hash_equals( (string) $token['consumer'], (string) $consumer['id'] ) ) {
		$GLOBALS['wprest_lab_oauth1_status'] = new WP_Error( 'json_oauth1_consumer_mismatch', 'Token is not registered for the given consumer', array( 'status' => wprest_lab_oauth1_code() ) );
		return null;
	}
	$error = wprest_lab_oauth1_check_signature( $consumer, $params, $token );
	if ( ! is_wp_error( $error ) ) {
		$error = wprest_lab_oauth1_check_nonce( $consumer, $params['oauth_timestamp'], $params['oauth_nonce'] );
	}
	if ( is_wp_error( $error ) ) {
		$GLOBALS['wprest_lab_oauth1_status'] = $error;
		return null;
	}
	$GLOBALS['wprest_lab_oauth1_status'] = true;
	return (int) $token['user'];
}

// rest_oauth1_force_reauthentication(): judge the user again now that the filter is in place.
add_action(
	'init',
	static function () {
		if ( ! is_user_logged_in() ) {
			$GLOBALS['current_user'] = null;
			wp_get_current_user();
		}
	},
	100
);

// The three endpoints, at the URLs the plugin's rewrite rules serve.
add_action(
	'parse_request',
	static function ( $wp ) {
		if ( preg_match( '#^oauth1/(authorize|request|access)/?$#', $wp->request, $m ) ) {
			unset( $wp->query_vars['error'] );
			$wp->query_vars['rest_oauth1'] = $m[1];
		} elseif ( ! empty( $_GET['rest_oauth1'] ) && is_string( $_GET['rest_oauth1'] ) ) {
			$wp->query_vars['rest_oauth1'] = wp_unslash( $_GET['rest_oauth1'] );
		}
	}
);

// rest_oauth1_loaded() and WP_REST_OAuth1::dispatch().
add_action(
	'template_redirect',
	static function () {
		if ( empty( $GLOBALS['wp']->query_vars['rest_oauth1'] ) ) {
			return;
		}
		$route = $GLOBALS['wp']->query_vars['rest_oauth1'];
		if ( 'authorize' === $route ) {
			wp_safe_redirect( site_url( 'wp-login.php?action=oauth1_authorize', 'login_post' ) . '&' . $_SERVER['QUERY_STRING'] );
			exit;
		}
		if ( 'request' === $route || 'access' === $route ) {
			$params = 'request' === $route ? wprest_lab_oauth1_parameters( false ) : wprest_lab_oauth1_parameters( true, array( 'oauth_verifier' ) );
			if ( empty( $params ) ) {
				$response = new WP_Error( 'json_oauth1_missing_parameter', 'No OAuth parameters supplied', array( 'status' => 400 ) );
			} elseif ( is_wp_error( $params ) ) {
				$response = $params;
			} else {
				$response = 'request' === $route ? wprest_lab_oauth1_generate_request_token( $params ) : wprest_lab_oauth1_generate_access_token( $params );
			}
		} else {
			$response = new WP_Error( 'json_oauth1_invalid_route', 'Route is invalid', array( 'status' => 404 ) );
		}
		header( 'Content-Type: application/x-www-form-urlencoded; charset=utf-8' );
		if ( is_wp_error( $response ) ) {
			$data = $response->get_error_data();
			status_header( is_array( $data ) && isset( $data['status'] ) ? $data['status'] : 500 );
			echo $response->get_error_message(); // phpcs:ignore WordPress.Security.EscapeOutput
			exit;
		}
		status_header( 200 );
		echo http_build_query( $response, '', '&' ); // phpcs:ignore WordPress.Security.EscapeOutput
		exit;
	},
	-100
);

add_filter(
	'rest_index',
	static function ( $response ) {
		$response->data['authentication']['oauth1'] = array(
			'request'   => home_url( 'oauth1/request' ),
			'authorize' => home_url( 'oauth1/authorize' ),
			'access'    => home_url( 'oauth1/access' ),
			'version'   => '0.1',
		);
		return $response;
	}
);

/** WP_REST_OAuth1_UI::handle_request() and render_page(), on wp-login.php?action=oauth1_authorize. */
add_action(
	'login_form_oauth1_authorize',
	static function () {
		if ( ! is_user_logged_in() ) {
			wp_safe_redirect( wp_login_url( $_SERVER['REQUEST_URI'] ) );
			exit;
		}
		$error = wprest_lab_oauth1_render_page();
		if ( is_wp_error( $error ) ) {
			login_header( 'Error', '', $error );
			login_footer();
		}
		exit;
	}
);

function wprest_lab_oauth1_render_page() {
	if ( empty( $_REQUEST['oauth_token'] ) ) {
		return new WP_Error( 'json_oauth1_missing_param', 'Missing parameter oauth_token', array( 'status' => 400 ) );
	}
	$token_key = wp_unslash( $_REQUEST['oauth_token'] );
	$token     = wprest_lab_oauth1_request_token( $token_key );
	if ( is_wp_error( $token ) ) {
		return $token;
	}
	if ( ! empty( $_REQUEST['oauth_callback'] ) ) {
		$error = wprest_lab_oauth1_set_callback( $token['key'], wp_unslash( $_REQUEST['oauth_callback'] ) );
		if ( $error ) {
			return $error;
		}
		$token = wprest_lab_oauth1_request_token( $token_key );
	}
	if ( true === $token['authorized'] ) {
		return wprest_lab_oauth1_callback_redirect( $token, $token['verifier'] );
	}
	$consumer = wprest_lab_oauth1_consumer_by_id( $token['consumer'] );
	if ( ! empty( $_POST['wp-submit'] ) ) {
		check_admin_referer( 'json_oauth1_authorize' );
		if ( 'cancel' === $_POST['wp-submit'] ) {
			exit;
		}
		if ( 'authorize' !== $_POST['wp-submit'] ) {
			return new WP_Error( 'json_oauth1_invalid_action', 'Invalid authorization action', array( 'status' => 400 ) );
		}
		$token['authorized'] = true;
		$token['verifier']   = wp_generate_password( 24, false );
		$token['user']       = get_current_user_id();
		update_option( 'oauth1_request_' . $token['key'], $token );
		return wprest_lab_oauth1_callback_redirect( $token, $token['verifier'] );
	}
	$url = add_query_arg( 'oauth_token', $token_key, site_url( 'wp-login.php?action=oauth1_authorize', 'login_post' ) );
	login_header( 'Authorize' );
	echo '<form name="oauth1_authorize_form" id="oauth1_authorize_form" action="' . esc_url( $url ) . '" method="post">';
	echo '<h2 class="login-title">' . esc_html( sprintf( 'Connect %1$s', $consumer['name'] ) ) . '</h2>';
	echo '<input type="hidden" name="consumer" value="' . absint( $consumer['id'] ) . '" />';
	echo '<input type="hidden" name="oauth_token" value="' . esc_attr( $token['key'] ) . '" />';
	wp_nonce_field( 'json_oauth1_authorize' );
	echo '<p class="submit"><button type="submit" name="wp-submit" value="authorize">Authorize</button>';
	echo '<button type="submit" name="wp-submit" value="cancel">Cancel</button></p></form>';
	login_footer();
	return null;
}

/** WP_REST_OAuth1_UI::handle_callback_redirect(). */
function wprest_lab_oauth1_callback_redirect( $token, $verifier ) {
	if ( empty( $token['callback'] ) || 'oob' === $token['callback'] ) {
		login_header( 'Access Token' );
		echo '<p>' . sprintf( 'Your verification token is <code>%s</code>', esc_html( $verifier ) ) . '</p>';
		login_footer();
		return null;
	}
	if ( ! wprest_lab_oauth1_check_callback( $token['callback'], $token['consumer'] ) ) {
		return new WP_Error( 'json_oauth1_invalid_callback', 'The callback URL is invalid', array( 'status' => 400 ) );
	}
	$args = urlencode_deep(
		array(
			'oauth_token'    => $token['key'],
			'oauth_verifier' => $verifier,
			'wp_scope'       => '*',
		)
	);
	wp_redirect( add_query_arg( $args, $token['callback'] ) );
	return null;
}

// Lab only: the consumers' keys and secrets, for the tests (administrators only).
add_action(
	'rest_api_init',
	static function () {
		register_rest_route(
			'wprest-lab/v1',
			'/oauth1-consumers',
			array(
				'methods'             => 'GET',
				'permission_callback' => static function () {
					return current_user_can( 'manage_options' );
				},
				'callback'            => static function () {
					return array_values( wprest_lab_oauth1_consumers() );
				},
			)
		);
	}
);

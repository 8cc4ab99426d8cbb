<?php
/**
 * Plugin Name: wp-rest lab JWT (Tmeister 1.3.4 behaviour)
 * Description: Test double for "JWT Authentication for WP REST API" by Tmeister.
 *
 * This file REPRODUCES the wire behaviour of Tmeister's plugin 1.3.4
 * (public/class-jwt-auth-public.php, which bundles firebase/php-jwt 6.4.0)
 * for wp_rest's integration tests.
 * It is NOT that plugin and shares no code with it: it is an independent
 * implementation with hash_hmac()/hash_equals(). Lab only; never install it on
 * a real site.
 *
 * Active only on a lab site (WPREST_LAB_SITE) that defines JWT_AUTH_SECRET_KEY
 * (the 'main' site; tests read the same secret from lab.json).
 *
 * Reproduced:
 * - POST /wp-json/jwt-auth/v1/token (username, password through
 *   wp_authenticate): 200 {"token","user_email","user_nicename",
 *   "user_display_name"}; failure 403 "[jwt_auth] <code>" with WordPress's
 *   message; 403 jwt_auth_bad_config without a secret.
 * - POST /wp-json/jwt-auth/v1/token/validate: 200
 *   {"code":"jwt_auth_valid_token","data":{"status":200}}, or 403
 *   jwt_auth_no_auth_header / jwt_auth_bad_auth_header / jwt_auth_bad_config /
 *   jwt_auth_invalid_token (php-jwt message) / jwt_auth_bad_iss /
 *   jwt_auth_bad_request.
 * - determine_current_user at priority 10: only "Bearer..." headers, from
 *   HTTP_AUTHORIZATION then REDIRECT_HTTP_AUTHORIZATION, token taken with
 *   sscanf($h, 'Bearer %s'); the user id is returned unchecked; a bad token is
 *   remembered and returned from rest_pre_dispatch on every REST route (403).
 * - Token: header {"typ":"JWT","alg":"HS256"}, payload {iss, iat, nbf, exp =
 *   iat + 7 days, data.user.id as a string}, filters jwt_auth_not_before,
 *   jwt_auth_expire, jwt_auth_token_before_sign, jwt_auth_token_before_dispatch,
 *   jwt_auth_algorithm, jwt_auth_cors_allow_headers (JWT_AUTH_CORS_ENABLE).
 * - php-jwt 6.4.0 decode: 3 segments, lenient base64url (padding tolerated),
 *   alg must equal the key's ("Algorithm not supported" / "Incorrect key for
 *   this algorithm"), HMAC compared with hash_equals, leeway 0, "Cannot handle
 *   token prior to <ISO 8601>" for nbf/iat > now, "Expired token" when
 *   now >= exp (exp == now is expired).
 *
 * Differences, all on paths a client cannot reach with a sane token: only the
 * HS256/384/512 algorithms are implemented (the real plugin also signs RS, ES
 * and PS); a non-string alg or a non-numeric nbf/iat yields an error response
 * where the real code dies with a PHP TypeError.
 *
 * Lab knobs, for testing token renewal: the constant WPREST_LAB_JWT_TTL
 * (seconds) shortens the default lifetime, and so does a request parameter
 * wprest_lab_ttl (1..604800) on POST /token; the jwt_auth_expire filter still
 * runs after both.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( ! defined( 'WPREST_LAB_SITE' ) || ! defined( 'JWT_AUTH_SECRET_KEY' ) ) {
	return;
}

/** PHP hash names of the HMAC algorithms implemented here. */
const WPREST_LAB_JWT_HMAC = array(
	'HS256' => 'sha256',
	'HS384' => 'sha384',
	'HS512' => 'sha512',
);

/** php-jwt 6.4.0's JWT::$supported_algs keys: decides "Algorithm not supported". */
const WPREST_LAB_JWT_PHP_JWT_ALGS = array(
	'ES384'  => true,
	'ES256'  => true,
	'ES256K' => true,
	'HS256'  => true,
	'HS384'  => true,
	'HS512'  => true,
	'RS256'  => true,
	'RS384'  => true,
	'RS512'  => true,
	'EdDSA'  => true,
);

/** Tmeister's own allow-list for the jwt_auth_algorithm filter. */
const WPREST_LAB_JWT_PLUGIN_ALGS = array(
	'HS256', 'HS384', 'HS512', 'RS256', 'RS384', 'RS512', 'ES256', 'ES384', 'ES512', 'PS256', 'PS384', 'PS512',
);

/** The token error found by the middleware, returned from rest_pre_dispatch. */
$GLOBALS['wprest_lab_jwt_error'] = null;

// --- php-jwt 6.4.0 look-alike ----------------------------------------------

function wprest_lab_jwt_b64_encode( $input ) {
	return str_replace( '=', '', strtr( base64_encode( $input ), '+/', '-_' ) );
}

/** Lenient, like JWT::urlsafeB64Decode(): pads, then non-strict base64_decode(). */
function wprest_lab_jwt_b64_decode( $input ) {
	$remainder = strlen( $input ) % 4;
	if ( $remainder ) {
		$input .= str_repeat( '=', 4 - $remainder );
	}
	return (string) base64_decode( strtr( $input, '-_', '+/' ) );
}

function wprest_lab_jwt_json_decode( $input ) {
	$obj   = json_decode( $input, false, 512, JSON_BIGINT_AS_STRING );
	$errno = json_last_error();
	if ( $errno ) {
		$messages = array(
			JSON_ERROR_DEPTH          => 'Maximum stack depth exceeded',
			JSON_ERROR_STATE_MISMATCH => 'Invalid or malformed JSON',
			JSON_ERROR_CTRL_CHAR      => 'Unexpected control character found',
			JSON_ERROR_SYNTAX         => 'Syntax error, malformed JSON',
			JSON_ERROR_UTF8           => 'Malformed UTF-8 characters',
		);
		throw new DomainException( isset( $messages[ $errno ] ) ? $messages[ $errno ] : 'Unknown JSON error: ' . $errno );
	}
	if ( null === $obj && 'null' !== $input ) {
		throw new DomainException( 'Null result with non-null input' );
	}
	return $obj;
}

function wprest_lab_jwt_encode( array $payload, $key, $alg ) {
	if ( ! isset( WPREST_LAB_JWT_HMAC[ $alg ] ) ) {
		throw new DomainException( 'Algorithm not supported' );
	}
	$segments      = array(
		wprest_lab_jwt_b64_encode( (string) json_encode( array( 'typ' => 'JWT', 'alg' => $alg ), JSON_UNESCAPED_SLASHES ) ),
		wprest_lab_jwt_b64_encode( (string) json_encode( $payload, JSON_UNESCAPED_SLASHES ) ),
	);
	$signing_input = implode( '.', $segments );
	$segments[]    = wprest_lab_jwt_b64_encode( hash_hmac( WPREST_LAB_JWT_HMAC[ $alg ], $signing_input, $key, true ) );
	return implode( '.', $segments );
}

/**
 * JWT::decode( $jwt, new Key( $key, $key_alg ) ) with php-jwt 6.4.0's checks,
 * order and messages. Leeway 0. Throws an Exception on any failure.
 */
function wprest_lab_jwt_decode( $jwt, $key, $key_alg ) {
	$timestamp = time();
	$leeway    = 0;

	$tks = explode( '.', $jwt );
	if ( 3 !== count( $tks ) ) {
		throw new UnexpectedValueException( 'Wrong number of segments' );
	}
	list( $headb64, $bodyb64, $cryptob64 ) = $tks;
	$header = wprest_lab_jwt_json_decode( wprest_lab_jwt_b64_decode( $headb64 ) );
	if ( null === $header ) {
		throw new UnexpectedValueException( 'Invalid header encoding' );
	}
	$payload = wprest_lab_jwt_json_decode( wprest_lab_jwt_b64_decode( $bodyb64 ) );
	if ( null === $payload ) {
		throw new UnexpectedValueException( 'Invalid claims encoding' );
	}
	if ( is_array( $payload ) ) {
		$payload = (object) $payload; // php-jwt: "edge-cases when payload is empty array"
	}
	if ( ! $payload instanceof stdClass ) {
		throw new UnexpectedValueException( 'Payload must be a JSON object' );
	}
	$sig = wprest_lab_jwt_b64_decode( $cryptob64 );
	$alg = ( is_object( $header ) && isset( $header->alg ) ) ? $header->alg : null;
	if ( empty( $alg ) ) {
		throw new UnexpectedValueException( 'Empty algorithm' );
	}
	if ( ! is_string( $alg ) || ! isset( WPREST_LAB_JWT_PHP_JWT_ALGS[ $alg ] ) ) {
		throw new UnexpectedValueException( 'Algorithm not supported' );
	}
	// The key fixes the algorithm; the header may only agree with it (php-jwt issue #351).
	if ( ! hash_equals( $key_alg, $alg ) ) {
		throw new UnexpectedValueException( 'Incorrect key for this algorithm' );
	}
	$hash = hash_hmac( WPREST_LAB_JWT_HMAC[ $alg ], "$headb64.$bodyb64", $key, true );
	if ( ! hash_equals( $hash, $sig ) ) {
		throw new UnexpectedValueException( 'Signature verification failed' );
	}
	if ( isset( $payload->nbf ) && $payload->nbf > ( $timestamp + $leeway ) ) {
		throw new UnexpectedValueException( 'Cannot handle token prior to ' . gmdate( 'Y-m-d\TH:i:sO', (int) $payload->nbf ) );
	}
	if ( isset( $payload->iat ) && $payload->iat > ( $timestamp + $leeway ) ) {
		throw new UnexpectedValueException( 'Cannot handle token prior to ' . gmdate( 'Y-m-d\TH:i:sO', (int) $payload->iat ) );
	}
	if ( isset( $payload->exp ) && ( $timestamp - $leeway ) >= $payload->exp ) {
		throw new UnexpectedValueException( 'Expired token' );
	}
	return $payload;
}

// --- the plugin ---------------------------------------------------------------

function wprest_lab_jwt_secret() {
	return defined( 'JWT_AUTH_SECRET_KEY' ) ? JWT_AUTH_SECRET_KEY : false;
}

function wprest_lab_jwt_algorithm() {
	$algorithm = apply_filters( 'jwt_auth_algorithm', 'HS256' );
	return in_array( $algorithm, WPREST_LAB_JWT_PLUGIN_ALGS, true ) ? $algorithm : false;
}

function wprest_lab_jwt_bad_config() {
	return new WP_Error(
		'jwt_auth_bad_config',
		'JWT is not configured properly, please contact the admin',
		array( 'status' => 403 )
	);
}

function wprest_lab_jwt_unsupported_algorithm() {
	return new WP_Error(
		'jwt_auth_unsupported_algorithm',
		'Algorithm not supported, see https://www.rfc-editor.org/rfc/rfc7518#section-3',
		array( 'status' => 403 )
	);
}

/** Default lifetime: 7 days, or the lab's shorter TTL (constant, then request parameter). */
function wprest_lab_jwt_default_ttl( WP_REST_Request $request ) {
	$ttl = defined( 'WPREST_LAB_JWT_TTL' ) ? (int) WPREST_LAB_JWT_TTL : DAY_IN_SECONDS * 7;
	$lab = $request->get_param( 'wprest_lab_ttl' );
	if ( is_scalar( $lab ) && ctype_digit( (string) $lab ) && (int) $lab >= 1 && (int) $lab <= DAY_IN_SECONDS * 7 ) {
		$ttl = (int) $lab;
	}
	return $ttl;
}

function wprest_lab_jwt_generate_token( WP_REST_Request $request ) {
	$secret_key = wprest_lab_jwt_secret();
	$username   = $request->get_param( 'username' );
	$password   = $request->get_param( 'password' );

	if ( ! $secret_key ) {
		return wprest_lab_jwt_bad_config();
	}

	$user = wp_authenticate( $username, $password );
	if ( is_wp_error( $user ) ) {
		$error_code = $user->get_error_code();
		return new WP_Error(
			'[jwt_auth] ' . $error_code,
			$user->get_error_message( $error_code ),
			array( 'status' => 403 )
		);
	}

	$issued_at  = time();
	$not_before = apply_filters( 'jwt_auth_not_before', $issued_at, $issued_at );
	$expire     = apply_filters( 'jwt_auth_expire', $issued_at + wprest_lab_jwt_default_ttl( $request ), $issued_at );

	$token = array(
		'iss'  => get_bloginfo( 'url' ),
		'iat'  => $issued_at,
		'nbf'  => $not_before,
		'exp'  => $expire,
		'data' => array(
			'user' => array(
				'id' => $user->data->ID, // a string: the wp_users row as read by $wpdb
			),
		),
	);

	$algorithm = wprest_lab_jwt_algorithm();
	if ( false === $algorithm || ! isset( WPREST_LAB_JWT_HMAC[ $algorithm ] ) ) {
		return wprest_lab_jwt_unsupported_algorithm();
	}

	$token = wprest_lab_jwt_encode(
		apply_filters( 'jwt_auth_token_before_sign', $token, $user ),
		$secret_key,
		$algorithm
	);

	$data = array(
		'token'             => $token,
		'user_email'        => $user->data->user_email,
		'user_nicename'     => $user->data->user_nicename,
		'user_display_name' => $user->data->display_name,
	);
	return apply_filters( 'jwt_auth_token_before_dispatch', $data, $user );
}

/**
 * Tmeister's validate_token(): the /token/validate callback, and the check the
 * middleware runs with the raw header as $custom_token (then it returns the
 * decoded payload instead of the success array).
 */
function wprest_lab_jwt_validate_token( WP_REST_Request $request, $custom_token = false ) {
	// WP_REST_Request::get_header() falls back to REDIRECT_HTTP_AUTHORIZATION itself.
	$auth_header = $custom_token ? $custom_token : $request->get_header( 'Authorization' );
	if ( ! $auth_header ) {
		return new WP_Error( 'jwt_auth_no_auth_header', 'Authorization header not found.', array( 'status' => 403 ) );
	}

	$parts = sscanf( $auth_header, 'Bearer %s' );
	$token = is_array( $parts ) ? $parts[0] : null;
	if ( ! $token ) {
		return new WP_Error( 'jwt_auth_bad_auth_header', 'Authorization header malformed.', array( 'status' => 403 ) );
	}

	$secret_key = wprest_lab_jwt_secret();
	if ( ! $secret_key ) {
		return wprest_lab_jwt_bad_config();
	}

	try {
		$algorithm = wprest_lab_jwt_algorithm();
		if ( false === $algorithm ) {
			return wprest_lab_jwt_unsupported_algorithm();
		}
		if ( ! isset( WPREST_LAB_JWT_HMAC[ $algorithm ] ) ) {
			throw new UnexpectedValueException( 'Algorithm not supported' );
		}

		$token = wprest_lab_jwt_decode( $token, $secret_key, $algorithm );

		// Strict comparison: a trailing slash or another scheme is a mismatch.
		$iss = isset( $token->iss ) ? $token->iss : null;
		if ( $iss !== get_bloginfo( 'url' ) ) {
			return new WP_Error( 'jwt_auth_bad_iss', 'The iss do not match with this server', array( 'status' => 403 ) );
		}

		if ( ! isset( $token->data->user->id ) ) {
			return new WP_Error( 'jwt_auth_bad_request', 'User ID not found in the token', array( 'status' => 403 ) );
		}

		if ( $custom_token ) {
			return $token;
		}

		return array(
			'code' => 'jwt_auth_valid_token',
			'data' => array( 'status' => 200 ),
		);
	} catch ( Exception $e ) {
		return new WP_Error( 'jwt_auth_invalid_token', $e->getMessage(), array( 'status' => 403 ) );
	}
}

function wprest_lab_jwt_determine_current_user( $user ) {
	// Only REST requests are left alone once a user is known; the real plugin
	// tests the URL because REST_REQUEST is not defined yet at this point.
	$rest_api_slug   = rest_get_url_prefix();
	$requested_url   = isset( $_SERVER['REQUEST_URI'] ) ? sanitize_url( $_SERVER['REQUEST_URI'] ) : '';
	$is_rest_request = ( defined( 'REST_REQUEST' ) && REST_REQUEST ) || strpos( $requested_url, $rest_api_slug );
	if ( $is_rest_request && $user ) {
		return $user;
	}

	// The validate endpoint does its own check; avoid doing it twice.
	if ( strpos( $requested_url, 'token/validate' ) > 0 ) {
		return $user;
	}

	$auth_header = ! empty( $_SERVER['HTTP_AUTHORIZATION'] ) ? sanitize_text_field( $_SERVER['HTTP_AUTHORIZATION'] ) : false;
	if ( ! $auth_header ) {
		$auth_header = ! empty( $_SERVER['REDIRECT_HTTP_AUTHORIZATION'] ) ? sanitize_text_field( $_SERVER['REDIRECT_HTTP_AUTHORIZATION'] ) : false;
	}
	if ( ! $auth_header ) {
		return $user;
	}

	// Case-sensitive: "bearer ..." and "Basic ..." are left to others.
	if ( strpos( $auth_header, 'Bearer' ) !== 0 ) {
		return $user;
	}

	$token = wprest_lab_jwt_validate_token( new WP_REST_Request(), $auth_header );
	if ( is_wp_error( $token ) ) {
		if ( 'jwt_auth_no_auth_header' !== $token->get_error_code() ) {
			$GLOBALS['wprest_lab_jwt_error'] = $token;
		}
		return $user;
	}

	// Not checked against the users table: an unknown id ends up anonymous.
	return $token->data->user->id;
}

function wprest_lab_jwt_rest_pre_dispatch( $result ) {
	if ( is_wp_error( $GLOBALS['wprest_lab_jwt_error'] ) ) {
		return $GLOBALS['wprest_lab_jwt_error'];
	}
	return $result;
}

function wprest_lab_jwt_add_api_routes() {
	register_rest_route(
		'jwt-auth/v1',
		'token',
		array(
			'methods'             => WP_REST_Server::CREATABLE,
			'callback'            => 'wprest_lab_jwt_generate_token',
			'permission_callback' => '__return_true',
		)
	);
	register_rest_route(
		'jwt-auth/v1',
		'token/validate',
		array(
			'methods'             => WP_REST_Server::CREATABLE,
			'callback'            => 'wprest_lab_jwt_validate_token',
			'permission_callback' => '__return_true',
		)
	);
}

function wprest_lab_jwt_add_cors_support() {
	if ( defined( 'JWT_AUTH_CORS_ENABLE' ) && JWT_AUTH_CORS_ENABLE ) {
		$headers = apply_filters( 'jwt_auth_cors_allow_headers', 'Access-Control-Allow-Headers, Content-Type, Authorization' );
		header( sprintf( 'Access-Control-Allow-Headers: %s', $headers ) );
	}
}

add_action( 'rest_api_init', 'wprest_lab_jwt_add_api_routes' );
add_action( 'rest_api_init', 'wprest_lab_jwt_add_cors_support' );
add_filter( 'determine_current_user', 'wprest_lab_jwt_determine_current_user', 10 );
add_filter( 'rest_pre_dispatch', 'wprest_lab_jwt_rest_pre_dispatch', 10, 2 );

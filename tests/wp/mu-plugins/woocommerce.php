<?php
/**
 * Plugin Name: wp-rest lab WooCommerce REST auth (WooCommerce 11.x behaviour)
 * Description: Test double for WooCommerce's REST API authentication.
 *
 * Follows WooCommerce 11.1+ includes/class-wc-rest-authentication.php
 * (WC_REST_Authentication) and wc_rest_urlencode_rfc3986() /
 * wc_api_hash() (includes/wc-rest-functions.php, wc-core-functions.php).
 * Written from that behaviour for wp_rest's integration tests; it is not
 * WooCommerce. Lab only; never install it on a real site. Active on the lab's
 * 'main' (http) and 'https' sites. On main, as on any WooCommerce site,
 * authentication_fallback() makes core's application-password errors show
 * (a wrong one is 401 incorrect_password, not rest_not_logged_in).
 *
 * Reproduced: only wc/ and wc- routes are handled (from REQUEST_URI, pretty or
 * ?rest_route=); determine_current_user at 15; over https (is_ssl()) the keys
 * from $_GET consumer_key/consumer_secret first, else PHP_AUTH_USER/PW, an
 * unknown key ignored silently and a wrong secret "Consumer secret is invalid."
 * with WWW-Authenticate: Basic realm=...; otherwise one-legged OAuth 1.0a from
 * $_GET + $_POST + the Authorization: OAuth header (urldecode'd): the five
 * parameters (missing ones named), HMAC-SHA1/SHA256, base string on the home
 * URL's host with the scheme of is_ssl(), parameters sorted by raw name
 * (uksort strcmp) then rawurlencoded, each "k=v" encoded again and joined with
 * %26, key "consumer_secret&", the signature compared after
 * rawurldecode(str_replace(' ', '+', ...)), the 15-minute timestamp window and
 * nonces remembered per key (by timestamp); read/write permissions by method;
 * authentication_fallback (10), check_authentication_error (15),
 * reject_out_of_scope_route (20), all with WooCommerce's messages.
 *
 * Differences: keys live in an option, not in {prefix}woocommerce_api_keys,
 * created on first load for the admin: one read_write, one read; GET
 * /wprest-lab/v1/woocommerce-keys shows them to administrators. The routes are
 * a stand-in store: GET/POST wc/v3/products and GET wc/v3/products/<id>,
 * allowed to users who can edit_posts.
 */

if ( ! defined( 'ABSPATH' ) ) {
	exit;
}

if ( ! defined( 'WPREST_LAB_SITE' ) || ! in_array( WPREST_LAB_SITE, array( 'main', 'https' ), true ) ) {
	return;
}

/** wc_api_hash(). */
function wprest_lab_wc_hash( $data ) {
	return hash_hmac( 'sha256', $data, 'wc-api' );
}

/** wc_rest_urlencode_rfc3986(). */
function wprest_lab_wc_encode( $value ) {
	if ( is_array( $value ) ) {
		return array_map( 'wprest_lab_wc_encode', $value );
	}
	return str_replace( array( '+', '%7E' ), array( ' ', '~' ), rawurlencode( $value ) );
}

/** The key rows (as in the keys table) and, lab only, the plain keys. */
function wprest_lab_wc_keys() {
	$keys = get_option( 'wprest_lab_wc_keys' );
	if ( ! is_array( $keys ) ) {
		$keys = array();
		foreach ( array( 'read_write', 'read' ) as $i => $permissions ) {
			$keys[] = array(
				'key_id'          => $i + 1,
				'user_id'         => 1,
				'permissions'     => $permissions,
				'plain_key'       => 'ck_' . wprest_lab_wc_rand_hash(),
				'consumer_secret' => 'cs_' . wprest_lab_wc_rand_hash(),
				'nonces'          => array(),
			);
			$keys[ $i ]['consumer_key'] = wprest_lab_wc_hash( $keys[ $i ]['plain_key'] );
		}
		update_option( 'wprest_lab_wc_keys', $keys, false );
	}
	return $keys;
}

/** wc_rand_hash(): 40 hex characters. */
function wprest_lab_wc_rand_hash() {
	return bin2hex( random_bytes( 20 ) );
}

function wprest_lab_wc_key_by_consumer_key( $consumer_key ) {
	$hash = wprest_lab_wc_hash( sanitize_text_field( $consumer_key ) );
	foreach ( wprest_lab_wc_keys() as $row ) {
		if ( hash_equals( $row['consumer_key'], $hash ) ) {
			return (object) $row;
		}
	}
	return null;
}

class WPRest_Lab_WC_REST_Authentication {
	protected $error       = null;
	protected $user        = null;
	protected $auth_method = '';

	public function __construct() {
		add_filter( 'determine_current_user', array( $this, 'authenticate' ), 15 );
		add_filter( 'rest_authentication_errors', array( $this, 'authentication_fallback' ) );
		add_filter( 'rest_authentication_errors', array( $this, 'check_authentication_error' ), 15 );
		add_filter( 'rest_authentication_errors', array( $this, 'reject_out_of_scope_route' ), 20 );
		add_filter( 'rest_post_dispatch', array( $this, 'send_unauthorized_headers' ), 50 );
		add_filter( 'rest_pre_dispatch', array( $this, 'check_user_permissions' ), 10, 3 );
	}

	private static function is_wc_namespace( $route ) {
		return 0 === strpos( $route, 'wc/' ) || 0 === strpos( $route, 'wc-' );
	}

	/** route_from_request_uri(). */
	private function route_from_request_uri() {
		if ( empty( $_SERVER['REQUEST_URI'] ) ) {
			return '';
		}
		$request_uri = wp_unslash( $_SERVER['REQUEST_URI'] );
		$query       = wp_parse_url( $request_uri, PHP_URL_QUERY );
		$query_vars  = array();
		if ( is_string( $query ) ) {
			parse_str( $query, $query_vars );
		}
		if ( isset( $query_vars['rest_route'] ) && is_string( $query_vars['rest_route'] ) ) {
			return trim( $query_vars['rest_route'], '/' );
		}
		$path      = trim( (string) wp_parse_url( $request_uri, PHP_URL_PATH ), '/' );
		$home_path = trim( (string) wp_parse_url( home_url(), PHP_URL_PATH ), '/' );
		if ( '' !== $home_path && 0 === stripos( $path, $home_path ) ) {
			$path = trim( substr( $path, strlen( $home_path ) ), '/' );
		}
		if ( 0 === strpos( $path, 'index.php/' ) ) {
			$path = substr( $path, strlen( 'index.php/' ) );
		}
		$prefix = trailingslashit( rest_get_url_prefix() );
		return 0 === strpos( $path, $prefix ) ? trim( substr( $path, strlen( $prefix ) ), '/' ) : '';
	}

	private function resolved_route() {
		global $wp;
		if ( ! $wp instanceof WP || ! isset( $wp->query_vars['rest_route'] ) || ! is_string( $wp->query_vars['rest_route'] ) ) {
			return null;
		}
		return trim( $wp->query_vars['rest_route'], '/' );
	}

	protected function is_request_to_rest_api() {
		$resolved = $this->resolved_route();
		return self::is_wc_namespace( $this->route_from_request_uri() ) || ( null !== $resolved && self::is_wc_namespace( $resolved ) );
	}

	public function authenticate( $user_id ) {
		if ( ! empty( $user_id ) || ! $this->is_request_to_rest_api() ) {
			return $user_id;
		}
		if ( is_ssl() ) {
			$user_id = $this->perform_basic_authentication();
		}
		if ( $user_id ) {
			return $user_id;
		}
		return $this->perform_oauth_authentication();
	}

	public function authentication_fallback( $error ) {
		if ( ! empty( $error ) ) {
			return $error;
		}
		if ( empty( $this->error ) && empty( $this->auth_method ) && empty( $this->user ) && 0 === get_current_user_id() ) {
			$user_id = $this->authenticate( false );
			if ( $user_id ) {
				wp_set_current_user( $user_id );
				return true;
			}
		}
		return $error;
	}

	public function check_authentication_error( $error ) {
		return ! empty( $error ) ? $error : $this->error;
	}

	public function reject_out_of_scope_route( $result ) {
		$resolved = $this->resolved_route();
		if ( null !== $this->user && null !== $resolved && ! self::is_wc_namespace( $resolved ) ) {
			$uri_route = $this->route_from_request_uri();
			if ( $resolved !== $uri_route && trim( urldecode( $uri_route ), '/' ) !== $resolved ) {
				return new WP_Error( 'woocommerce_rest_authentication_error', 'The provided API key cannot be used to access this endpoint.', array( 'status' => 401 ) );
			}
		}
		return $result;
	}

	protected function set_error( $error ) {
		$this->user  = null;
		$this->error = $error;
	}

	private function perform_basic_authentication() {
		$this->auth_method = 'basic_auth';
		$consumer_key      = '';
		$consumer_secret   = '';
		if ( ! empty( $_GET['consumer_key'] ) && ! empty( $_GET['consumer_secret'] ) ) {
			$consumer_key    = $_GET['consumer_key'];
			$consumer_secret = $_GET['consumer_secret'];
		}
		if ( ! $consumer_key && ! empty( $_SERVER['PHP_AUTH_USER'] ) && ! empty( $_SERVER['PHP_AUTH_PW'] ) ) {
			$consumer_key    = $_SERVER['PHP_AUTH_USER'];
			$consumer_secret = $_SERVER['PHP_AUTH_PW'];
		}
		if ( ! $consumer_key || ! $consumer_secret ) {
			return false;
		}
		$this->user = wprest_lab_wc_key_by_consumer_key( $consumer_key );
		if ( empty( $this->user ) ) {
			return false;
		}
		if ( ! hash_equals( $this->user->consumer_secret, $consumer_secret ) ) {
			$this->set_error( new WP_Error( 'woocommerce_rest_authentication_error', 'Consumer secret is invalid.', array( 'status' => 401 ) ) );
			return false;
		}
		return $this->user->user_id;
	}

	public function parse_header( $header ) {
		if ( 'OAuth ' !== substr( $header, 0, 6 ) ) {
			return array();
		}
		$params = array();
		if ( preg_match_all( '/(oauth_[a-z_-]*)=(:?"([^"]*)"|([^,]*))/', $header, $matches ) ) {
			foreach ( $matches[1] as $i => $h ) {
				$params[ $h ] = urldecode( empty( $matches[3][ $i ] ) ? $matches[4][ $i ] : $matches[3][ $i ] );
			}
		}
		return $params;
	}

	public function get_oauth_parameters() {
		$params = wp_unslash( array_merge( $_GET, $_POST ) );
		$header = ! empty( $_SERVER['HTTP_AUTHORIZATION'] ) ? wp_unslash( $_SERVER['HTTP_AUTHORIZATION'] ) : '';
		if ( ! empty( $header ) ) {
			$header_params = $this->parse_header( trim( $header ) );
			if ( ! empty( $header_params ) ) {
				$params = array_merge( $params, $header_params );
			}
		}
		$errors   = array();
		$have_one = false;
		foreach ( array( 'oauth_consumer_key', 'oauth_timestamp', 'oauth_nonce', 'oauth_signature', 'oauth_signature_method' ) as $name ) {
			if ( empty( $params[ $name ] ) ) {
				$errors[] = $name;
			} else {
				$have_one = true;
			}
		}
		if ( ! $have_one ) {
			return array();
		}
		if ( ! empty( $errors ) ) {
			$message = sprintf( 1 === count( $errors ) ? 'Missing OAuth parameter %s' : 'Missing OAuth parameters %s', implode( ', ', $errors ) );
			$this->set_error( new WP_Error( 'woocommerce_rest_authentication_missing_parameter', $message, array( 'status' => 401 ) ) );
			return array();
		}
		return $params;
	}

	private function perform_oauth_authentication() {
		$this->auth_method = 'oauth1';
		$params            = $this->get_oauth_parameters();
		if ( empty( $params ) ) {
			return false;
		}
		$this->user = wprest_lab_wc_key_by_consumer_key( $params['oauth_consumer_key'] );
		if ( empty( $this->user ) ) {
			$this->set_error( new WP_Error( 'woocommerce_rest_authentication_error', 'Consumer key is invalid.', array( 'status' => 401 ) ) );
			return false;
		}
		$signature = $this->check_oauth_signature( $this->user, $params );
		if ( is_wp_error( $signature ) ) {
			$this->set_error( $signature );
			return false;
		}
		$timestamp_and_nonce = $this->check_oauth_timestamp_and_nonce( $this->user, $params['oauth_timestamp'], $params['oauth_nonce'] );
		if ( is_wp_error( $timestamp_and_nonce ) ) {
			$this->set_error( $timestamp_and_nonce );
			return false;
		}
		return $this->user->user_id;
	}

	private function check_oauth_signature( $user, $params ) {
		$http_method  = isset( $_SERVER['REQUEST_METHOD'] ) ? strtoupper( $_SERVER['REQUEST_METHOD'] ) : '';
		$request_path = isset( $_SERVER['REQUEST_URI'] ) ? wp_parse_url( $_SERVER['REQUEST_URI'], PHP_URL_PATH ) : '';
		$wp_base      = get_home_url( null, '/', 'relative' );
		if ( substr( $request_path, 0, strlen( $wp_base ) ) === $wp_base ) {
			$request_path = substr( $request_path, strlen( $wp_base ) );
		}
		$base_request_uri   = rawurlencode( get_home_url( null, $request_path, is_ssl() ? 'https' : 'http' ) );
		$consumer_signature = rawurldecode( str_replace( ' ', '+', $params['oauth_signature'] ) );
		unset( $params['oauth_signature'] );
		if ( ! uksort( $params, 'strcmp' ) ) {
			return new WP_Error( 'woocommerce_rest_authentication_error', 'Invalid signature - failed to sort parameters.', array( 'status' => 401 ) );
		}
		$params         = array_combine( wprest_lab_wc_encode( array_keys( $params ) ), wprest_lab_wc_encode( array_values( $params ) ) );
		$query_string   = implode( '%26', $this->join_with_equals_sign( $params ) );
		$string_to_sign = $http_method . '&' . $base_request_uri . '&' . $query_string;
		if ( 'HMAC-SHA1' !== $params['oauth_signature_method'] && 'HMAC-SHA256' !== $params['oauth_signature_method'] ) {
			return new WP_Error( 'woocommerce_rest_authentication_error', 'Invalid signature - signature method is invalid.', array( 'status' => 401 ) );
		}
		$hash_algorithm = strtolower( str_replace( 'HMAC-', '', $params['oauth_signature_method'] ) );
		$signature      = base64_encode( hash_hmac( $hash_algorithm, $string_to_sign, $user->consumer_secret . '&', true ) );
		if ( ! hash_equals( $signature, $consumer_signature ) ) {
			return new WP_Error( 'woocommerce_rest_authentication_error', 'Invalid signature - provided signature does not match.', array( 'status' => 401 ) );
		}
		return true;
	}

	private function join_with_equals_sign( $params, $query_params = array(), $key = '' ) {
		foreach ( $params as $param_key => $param_value ) {
			if ( $key ) {
				$param_key = $key . '%5B' . $param_key . '%5D';
			}
			if ( is_array( $param_value ) ) {
				$query_params = $this->join_with_equals_sign( $param_value, $query_params, $param_key );
			} else {
				$query_params[] = wprest_lab_wc_encode( $param_key . '=' . $param_value );
			}
		}
		return $query_params;
	}

	private function check_oauth_timestamp_and_nonce( $user, $timestamp, $nonce ) {
		$valid_window = 15 * 60;
		if ( ( $timestamp < time() - $valid_window ) || ( $timestamp > time() + $valid_window ) ) {
			return new WP_Error( 'woocommerce_rest_authentication_error', 'Invalid timestamp.', array( 'status' => 401 ) );
		}
		$used_nonces = empty( $user->nonces ) ? array() : $user->nonces;
		if ( in_array( $nonce, $used_nonces, true ) ) {
			return new WP_Error( 'woocommerce_rest_authentication_error', 'Invalid nonce - nonce has already been used.', array( 'status' => 401 ) );
		}
		$used_nonces[ $timestamp ] = $nonce;
		foreach ( $used_nonces as $nonce_timestamp => $used ) {
			if ( $nonce_timestamp < ( time() - $valid_window ) ) {
				unset( $used_nonces[ $nonce_timestamp ] );
			}
		}
		$keys = wprest_lab_wc_keys();
		foreach ( $keys as $i => $row ) {
			if ( $row['key_id'] === $user->key_id ) {
				$keys[ $i ]['nonces'] = $used_nonces;
			}
		}
		update_option( 'wprest_lab_wc_keys', $keys, false );
		return true;
	}

	private function check_permissions( $method ) {
		$permissions = $this->user->permissions;
		switch ( $method ) {
			case 'HEAD':
			case 'GET':
				if ( 'read' !== $permissions && 'read_write' !== $permissions ) {
					return new WP_Error( 'woocommerce_rest_authentication_error', 'The API key provided does not have read permissions.', array( 'status' => 401 ) );
				}
				break;
			case 'POST':
			case 'PUT':
			case 'PATCH':
			case 'DELETE':
				if ( 'write' !== $permissions && 'read_write' !== $permissions ) {
					return new WP_Error( 'woocommerce_rest_authentication_error', 'The API key provided does not have write permissions.', array( 'status' => 401 ) );
				}
				break;
			case 'OPTIONS':
				return true;
			default:
				return new WP_Error( 'woocommerce_rest_authentication_error', 'Unknown request method.', array( 'status' => 401 ) );
		}
		return true;
	}

	public function send_unauthorized_headers( $response ) {
		if ( is_wp_error( $this->error ) && 'basic_auth' === $this->auth_method ) {
			$response->header( 'WWW-Authenticate', 'Basic realm="WooCommerce API. Use a consumer key in the username field and a consumer secret in the password field."', true );
		}
		return $response;
	}

	public function check_user_permissions( $result, $server, $request ) {
		if ( $this->user ) {
			$allowed = $this->check_permissions( $request->get_method() );
			if ( is_wp_error( $allowed ) ) {
				return $allowed;
			}
		}
		return $result;
	}
}

new WPRest_Lab_WC_REST_Authentication();

add_action(
	'rest_api_init',
	static function () {
		$can = static function ( $code, $message ) {
			return static function () use ( $code, $message ) {
				return current_user_can( 'edit_posts' ) ? true : new WP_Error( $code, $message, array( 'status' => rest_authorization_required_code() ) );
			};
		};
		$products = static function () {
			return (array) get_option( 'wprest_lab_wc_products', array() );
		};
		register_rest_route(
			'wc/v3',
			'/products',
			array(
				array(
					'methods'             => 'GET',
					'permission_callback' => $can( 'woocommerce_rest_cannot_view', 'Sorry, you cannot list resources.' ),
					'callback'            => static function ( $request ) use ( $products ) {
						$search = (string) $request['search'];
						return array_values(
							array_filter(
								$products(),
								static function ( $p ) use ( $search ) {
									return '' === $search || false !== stripos( $p['name'], $search );
								}
							)
						);
					},
				),
				array(
					'methods'             => 'POST',
					'permission_callback' => $can( 'woocommerce_rest_cannot_create', 'Sorry, you are not allowed to create resources.' ),
					'callback'            => static function ( $request ) use ( $products ) {
						$all     = $products();
						$product = array(
							'id'            => count( $all ) + 1,
							'name'          => (string) $request['name'],
							'regular_price' => (string) $request['regular_price'],
							'status'        => 'publish',
						);
						$all[]   = $product;
						update_option( 'wprest_lab_wc_products', $all, false );
						return new WP_REST_Response( $product, 201 );
					},
				),
			)
		);
		register_rest_route(
			'wc/v3',
			'/products/(?P<id>\d+)',
			array(
				'methods'             => 'GET',
				'permission_callback' => $can( 'woocommerce_rest_cannot_view', 'Sorry, you cannot view this resource.' ),
				'callback'            => static function ( $request ) use ( $products ) {
					foreach ( $products() as $p ) {
						if ( (int) $p['id'] === (int) $request['id'] ) {
							return $p;
						}
					}
					return new WP_Error( 'woocommerce_rest_product_invalid_id', 'Invalid ID.', array( 'status' => 404 ) );
				},
			)
		);
		// Lab only: the plain keys, for the tests (administrators only).
		register_rest_route(
			'wprest-lab/v1',
			'/woocommerce-keys',
			array(
				'methods'             => 'GET',
				'permission_callback' => static function () {
					return current_user_can( 'manage_options' );
				},
				'callback'            => static function () {
					return array_map(
						static function ( $row ) {
							return array(
								'permissions'     => $row['permissions'],
								'consumer_key'    => $row['plain_key'],
								'consumer_secret' => $row['consumer_secret'],
							);
						},
						wprest_lab_wc_keys()
					);
				},
			)
		);
	}
);

# Sourced by the benchmarks: nginx_ok DIR PORT... starts one nginx worker answering a
# fixed "ok" (200) on each loopback port, with its pid file at DIR/nginx.pid.
nginx_ok() {
  local dir=$1 listen="" port
  shift
  for port in "$@"; do listen+="listen 127.0.0.1:$port backlog=4096; "; done
  mkdir -p "$dir/nginx"
  cat > "$dir/nginx.conf" <<NGINX
worker_processes 1;
pid $dir/nginx.pid;
error_log $dir/nginx/error.log;
events { worker_connections 16384; }
http {
  access_log off;
  client_body_temp_path $dir/nginx;
  proxy_temp_path $dir/nginx;
  fastcgi_temp_path $dir/nginx;
  uwsgi_temp_path $dir/nginx;
  scgi_temp_path $dir/nginx;
  server { $listen location / { return 200 "ok\n"; } }
}
NGINX
  nginx -c "$dir/nginx.conf"
}

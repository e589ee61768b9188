<?php
// upkeep's ready and health check (webstack/upkeep.toml): answered by php-fpm through nginx.
echo "ok\n";

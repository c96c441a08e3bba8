FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY alertd ./alertd
COPY bench ./bench
COPY clients ./clients
COPY dispatch_console ./dispatch_console
RUN pip install --no-cache-dir .
ENV ALERTD_HOST=0.0.0.0 ALERTD_PORT=8000 ALERTD_DATA_DIR=/data ALERTD_CONSOLE_DIR=/app/dispatch_console
EXPOSE 8000
CMD ["sh", "-c", "alertd db upgrade && alertd serve"]

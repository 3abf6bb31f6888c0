// Benchmark set page: per indicator a small horizontal box plot of the sample (ECharts, served
// locally) with every product's value as a point, the benchmark as a red line and the suggestion as a
// grey dashed line. The numbers come from the page ({{ chart|json_script:"benchmark-data" }}) and the
// table above the charts carries the same figures. No inline script or style (CSP): sizes are set
// through the CSSOM, tooltips drawn on the canvas (renderMode "richText").
(function () {
  "use strict";

  function readData() {
    const node = document.getElementById("benchmark-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return null;
    }
  }

  function finite(value) {
    return typeof value === "number" && Number.isFinite(value);
  }

  // the axis must show the sample and both lines, with a little room on each side
  function extent(item) {
    const points = item.values.slice();
    if (finite(item.value)) points.push(item.value);
    if (finite(item.suggested)) points.push(item.suggested);
    let low = Math.min.apply(null, points);
    let high = Math.max.apply(null, points);
    const pad = high > low ? (high - low) * 0.08 : Math.abs(high) * 0.1 || 1;
    low -= pad;
    high += pad;
    if (Math.min.apply(null, points) >= 0 && low < 0) low = 0; // counts and amounts are never negative
    return [low, high];
  }

  function round(value) {
    return Math.abs(value) >= 1000 ? Math.round(value) : Number(value.toPrecision(4));
  }

  function option(item, labels) {
    const range = extent(item);
    const lines = [];
    if (finite(item.value)) {
      lines.push({
        name: labels.value,
        xAxis: item.value,
        lineStyle: { color: "#dc3545", width: 2, type: "solid" },
        label: { formatter: labels.value + " " + item.value, color: "#dc3545", position: "end" },
      });
    }
    if (finite(item.suggested) && item.suggested !== item.value) {
      lines.push({
        name: labels.suggested,
        xAxis: item.suggested,
        lineStyle: { color: "#6c757d", width: 1, type: "dashed" },
        label: { formatter: labels.suggested + " " + item.suggested, color: "#6c757d", position: "start" },
      });
    }
    return {
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "item", renderMode: "richText" },
      grid: { left: 8, right: 24, top: 28, bottom: 8, containLabel: true },
      textStyle: {
        fontFamily: '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif',
      },
      xAxis: {
        type: "value",
        min: round(range[0]),
        max: round(range[1]),
        // the padded ends are not round numbers: only the ticks inside carry labels (the unit is in the title)
        axisLabel: { hideOverlap: true, showMinLabel: false, showMaxLabel: false },
        splitLine: { show: false },
      },
      yAxis: { type: "category", data: [labels.sample], axisLabel: { show: false }, axisTick: { show: false } },
      series: [
        {
          name: item.code,
          type: "boxplot",
          data: [item.box],
          boxWidth: [16, 28],
          itemStyle: { color: "rgba(13, 110, 253, 0.12)", borderColor: "#0d6efd" },
          markLine: { symbol: "none", silent: true, data: lines },
        },
        {
          name: labels.sample,
          type: "scatter",
          data: item.values.map((v) => [v, 0]),
          symbolSize: 6,
          itemStyle: { color: "#0d6efd", opacity: 0.45 },
        },
      ],
    };
  }

  function draw(element, item, labels) {
    if (!item || !item.values || item.values.length === 0 || !window.echarts) return;
    element.style.height = "140px";
    const chart = window.echarts.init(element, null, { renderer: "canvas" });
    chart.setOption(option(item, labels));
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = readData();
    if (!data || !Array.isArray(data.indicators)) return;
    const byId = new Map(data.indicators.map((item) => [String(item.id), item]));
    document.querySelectorAll("[data-benchmark-chart]").forEach((element) => {
      draw(element, byId.get(element.dataset.benchmarkChart), data.labels || {});
    });
  });
})();

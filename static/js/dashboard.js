// Dashboard charts (ECharts, served locally). The numbers come from the page itself
// ({{ data|json_script:"dashboard-data" }}); every chart also has its table on the page.
// No inline script or style (CSP): tooltips are drawn on the canvas (renderMode "richText").
(function () {
  "use strict";

  function readData() {
    const node = document.getElementById("dashboard-data");
    if (!node) return null;
    try {
      return JSON.parse(node.textContent);
    } catch (error) {
      return null;
    }
  }

  function baseOption() {
    return {
      aria: { enabled: true },
      animation: false,
      tooltip: { trigger: "axis", renderMode: "richText" },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      color: ["#0d6efd"],
      textStyle: {
        fontFamily: '"Noto Sans CJK SC", "PingFang SC", "Microsoft YaHei", system-ui, sans-serif',
      },
    };
  }

  function lineOption(series, labels) {
    const option = baseOption();
    option.xAxis = { type: "category", data: series.labels, axisLabel: { hideOverlap: true } };
    option.yAxis = { type: "value", minInterval: 1 };
    option.series = [
      {
        name: labels.count,
        type: "line",
        data: series.values,
        symbolSize: 8,
        areaStyle: { opacity: 0.08 },
      },
    ];
    if (series.before && labels.before) {
      // the same months a year before (issue 20: every period beside the year before)
      option.color = ["#0d6efd", "#adb5bd"];
      option.legend = { top: 0, data: [labels.count, labels.before] };
      option.grid.top = 32;
      option.series.push({
        name: labels.before,
        type: "line",
        data: series.before,
        symbolSize: 6,
        lineStyle: { type: "dashed" },
      });
    }
    return option;
  }

  function barOption(series, labels) {
    // horizontal bars: long Chinese labels stay readable on a phone
    const option = baseOption();
    option.xAxis = { type: "value", minInterval: 1 };
    option.yAxis = {
      type: "category",
      data: series.labels.slice().reverse(),
      axisLabel: { width: 120, overflow: "truncate" },
    };
    option.series = [{ name: labels.count, type: "bar", data: series.values.slice().reverse(), barMaxWidth: 24 }];
    option._reversed = true;
    return option;
  }

  function draw(element, series, labels) {
    if (!series || !series.labels || series.labels.length === 0) return;
    const kind = element.dataset.chart;
    const isLine = kind === "trend";
    const height = isLine ? 280 : Math.max(180, 36 * series.labels.length + 40);
    element.style.height = height + "px"; // CSSOM, allowed by the content security policy
    const chart = window.echarts.init(element, null, { renderer: "canvas" });
    const option = isLine ? lineOption(series, labels) : barOption(series, labels);
    const reversed = option._reversed;
    delete option._reversed;
    chart.setOption(option);
    // a click on a bar or point opens the list behind it (the same link as in the table)
    chart.on("click", (params) => {
      if (params.seriesIndex) return; // the year before's line has no list of its own
      const index = reversed ? series.urls.length - 1 - params.dataIndex : params.dataIndex;
      const url = series.urls[index];
      if (url) window.location.assign(url);
    });
    window.addEventListener("resize", () => chart.resize());
  }

  document.addEventListener("DOMContentLoaded", () => {
    const data = readData();
    if (!data || !window.echarts) return; // the tables below each chart carry the same numbers
    const labels = data.labels || {};
    document.querySelectorAll("[data-chart]").forEach((element) => {
      draw(element, data[element.dataset.chart], labels);
    });
  });
})();
